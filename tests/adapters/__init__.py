"""Adapter tests: real backends (SQLite files, Azurite) behind the ports."""
