"""What operators see of a running Heard: Prometheus metrics (`metrics.py`, served at `/metrics`; the database's
view in `database_gauges.py`) and structured logs with a request id (`logs.py`)."""
