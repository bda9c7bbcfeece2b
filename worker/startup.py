"""Start-up checks of the worker whose failures a person fixes: the bundle, the services.

Each becomes a `UserError` with its exit code and a hint, which the CLI prints in two lines.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from schemas.bundle import MANIFEST_NAME, BundleManifest
from schemas.exit_codes import ExitCode, UserError

NO_BUNDLE_HINT = "run `make model` or set MOODWATCH_WORKER_BUNDLE_PATH"


def check_bundle(path: Path) -> None:
    """A missing or unreadable manifest, told before torch loads (that takes seconds)."""
    if not (path / MANIFEST_NAME).is_file():
        message = f"no model bundle at {path} ({MANIFEST_NAME} missing)"
        raise UserError(message, NO_BUNDLE_HINT, ExitCode.NO_BUNDLE)
    try:
        BundleManifest.load(path)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise bundle_unreadable(path, f"{where}: {first['msg']}") from exc
    except (OSError, ValueError) as exc:  # unreadable file, not JSON
        raise bundle_unreadable(path, str(exc)) from exc


def bundle_unreadable(path: Path, reason: str) -> UserError:
    message = f"model bundle at {path} is unreadable: {reason.splitlines()[0][:200]}"
    return UserError(message, NO_BUNDLE_HINT, ExitCode.NO_BUNDLE)


def kafka_unreachable(servers: str, exc: Exception) -> UserError:
    return UserError(
        f"cannot connect to Kafka at {servers}: no broker answered ({type(exc).__name__})",
        hint="is it up? `moodwatch services up` starts it; MOODWATCH_KAFKA_BOOTSTRAP_SERVERS "
        "says where",
        exit_code=ExitCode.SERVICE_UNREACHABLE,
    )


@contextmanager
def kafka_logs_quiet() -> Iterator[None]:
    """kafka-python logs every refused connection while it bootstraps; the `UserError` that
    follows says it once. DEBUG (MOODWATCH_LOG_LEVEL) keeps them."""
    logger = logging.getLogger("kafka")
    before = logger.level
    if logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)
