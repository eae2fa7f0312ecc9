"""Moving a provider's stream to whoever reads it.

- `producer`: the thread that reads the provider's stream (on `threads`, reused daemon threads)
  and hands each item over, pausing after the first until it has been handed on;
- `coalescer`: the consumer's side, `pump`: the first item at once, then batches gathered over
  a short window, so a fast provider's burst becomes a few events;
- `relay`: following a job's event stream (a job run elsewhere: a worker, another process).
"""
