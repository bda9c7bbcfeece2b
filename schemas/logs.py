"""Structured logs: JSON lines on stderr, quiet (WARNING) unless MOODWATCH_LOG_LEVEL says more.

Shared by the long-running processes (worker, sentinel), each configured from its settings.
"""

import logging
import sys

import structlog

from schemas.settings import RuntimeSettings


def configure_logging(runtime: RuntimeSettings) -> None:
    level = getattr(logging, runtime.log_level)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    logging.getLogger("kafka").setLevel(max(level, logging.ERROR))
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if runtime.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
