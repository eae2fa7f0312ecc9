"""The job core: everything between a validated request for a job and its settled end.

Follow a job through the layout:
1. `api`: quote it, then `create_job` places the hold and records the job in one step
   (`opening`, through `store.open_job`), then sends it to a worker (`queue` jobs) or hands it
   to the web thread serving a `/v1` caller (`web` jobs); also read, list and cancel. What the
   request carries in (its start time, its pending Redis writes) comes as a `RequestScope`
   (`request_scope`), never from Flask's globals.
2. `runs`: a run owns the job under a lease while it streams from the provider and delivers;
   a worker's run and a web run are two `Delivery` strategies around one `execute_chat`
   (`runs/worker.py`, `runs/web.py`, `runs/chat.py`); every ending settles exactly once
   (`runs/ending.py`). `lease_keeper` renews web runs' leases while their thread waits for a
   first token; `cancellation` holds the cancel flags a run checks between batches.
3. `streaming`: the provider's stream read on its own thread (`producer`) and handed over in
   coalesced batches (`coalescer`); a job's event stream followed from any id (`relay`).
4. `output`: what the `/v1` endpoints read, the same for both kinds of run (`LocalRun`,
   `Relay`).
5. `reaper`: jobs whose run died (lease expired) are finished, or sent again.
6. `store`: a job's credit-moving steps (open, settle, finish, end unstarted), each all or
   nothing, on PostgreSQL (PL/pgSQL functions) or SQLite (their Python twin).

Work for a worker is sent by actor name through `app.dispatch`; nothing here imports
`app.tasks`.
"""
