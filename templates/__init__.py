"""Jinja templates of the harness, shipped as the package data ``harness.templates``."""
