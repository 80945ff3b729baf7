"""Entrypoints: Functions blueprints and the command line. Thin: parse, call, answer."""
