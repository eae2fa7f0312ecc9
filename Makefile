# The README's two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint bench-ledger bench-gateway bench-queue load-test load-test-ws clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP_RUN): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(STAMP_DEV): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(STAMP_RUN)

## run: set up and serve the hub on http://127.0.0.1:$${PORT:-5000} (embedded queue, SQLite)
run: $(STAMP_RUN)
	$(BIN)/flask db upgrade
	$(BIN)/flask users ensure-admin
	exec $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## test: set up, make sure PostgreSQL and Redis are reachable, run the suite with coverage
test: $(STAMP_DEV)
	bash scripts/ensure_test_services.sh
	$(BIN)/pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check .

clean-venv:
	rm -rf $(VENV)

## bench-ledger: debits/s against the bare-SQL ceiling, and history at 5M entries (own database)
bench-ledger: $(STAMP_DEV)
	$(BIN)/python -m scripts.bench.ledger

## bench-gateway: the hub's added latency, throughput and CPU against a direct upstream
bench-gateway: $(STAMP_DEV)
	$(BIN)/python -m scripts.bench.gateway

## bench-queue: enqueue-to-start latency on the RabbitMQ and Redis brokers
bench-queue: $(STAMP_DEV)
	$(BIN)/python -m scripts.bench.queue

## load-test: the mixed workload (Locust) at ~100 JSON requests/s against the production shape
load-test: $(STAMP_DEV)
	$(BIN)/python -m scripts.bench.load.run

## load-test-ws: how many concurrent job WebSockets one web process holds
load-test-ws: $(STAMP_DEV)
	$(BIN)/python -m scripts.bench.load.ws_capacity
