"""Structured logs: the worker's are configured as every process's (schemas/logs.py)."""

from schemas.logs import configure_logging

__all__ = ["configure_logging"]
