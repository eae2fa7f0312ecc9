"""The load test: a Locust scenario of the mixed workload (`locustfile.py`), the driver that
runs it against the real stack (`run.py`), and the job WebSocket capacity of one web process
(`ws_capacity.py`). docs/benchmarks/README.md says how to run them."""
