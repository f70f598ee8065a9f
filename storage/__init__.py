"""Persistence: typed SQLAlchemy models, the engine and `unit_of_work()`."""
