"""Persistent stores over the SQLite database (one component, one module)."""
