"""Every environment variable the settings read: the README's table, `moodwatch settings`,
and the one-line explanation of an invalid setting that the CLI prints instead of a traceback.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings

from schemas.settings import (
    DEV_PASSWORD,
    DEV_RO_PASSWORD,
    DEV_SENTINEL_PASSWORD,
    DashboardSettings,
    MaintainSettings,
    MigrateSettings,
    ProducerSettings,
    SentinelSettings,
    ServicesSettings,
    TrainingSettings,
    WorkerSettings,
)

COMMANDS: dict[type[BaseSettings], str] = {
    WorkerSettings: "worker",
    ProducerSettings: "produce",
    DashboardSettings: "dashboard",
    SentinelSettings: "sentinel",
    MigrateSettings: "migrate",
    MaintainSettings: "maintain",
    TrainingSettings: "train",
    ServicesSettings: "services",
}
COMPONENTS = tuple(COMMANDS)
MASK = "********"
PLACEHOLDER = "(development placeholder)"


@dataclass(frozen=True)
class Variable:
    name: str
    default: object
    description: str
    secret: bool


def _settings_class(annotation: object) -> type[BaseSettings] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
        return annotation
    return None


def _prefix(settings_class: type[BaseSettings]) -> str:
    return str(settings_class.model_config.get("env_prefix", ""))


def variables(settings_class: type[BaseSettings]) -> Iterator[Variable]:
    """The variables of the class and of the settings nested in it."""
    for name, field in settings_class.model_fields.items():
        nested = _settings_class(field.annotation)
        if nested is not None:
            yield from variables(nested)
            continue
        default = field.get_default(call_default_factory=True)
        secret = field.annotation is SecretStr
        if secret:
            given = default.get_secret_value() if isinstance(default, SecretStr) else ""
            default = "(development placeholder; required in production)" if given else "(none)"
        variable = f"{_prefix(settings_class)}{name}".upper()
        yield Variable(variable, default, field.description or "", secret)


def all_variables() -> list[Variable]:
    """Each variable once, in the order of COMPONENTS."""
    seen: dict[str, Variable] = {}
    for cls in COMPONENTS:
        for variable in variables(cls):
            seen.setdefault(variable.name, variable)
    return list(seen.values())


def known_variables() -> set[str]:
    return {variable.name for variable in all_variables()}


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for v in all_variables():
        rows.append(f"| `{v.name}` | `{v.default}` | {v.description} |")
    return "\n".join(rows)


def _environment() -> dict[str, str]:
    # pydantic-settings matches names case-insensitively, so this does too
    return {key.upper(): value for key, value in os.environ.items()}


def shown_value(variable: Variable, value: object) -> str:
    """A secret is never shown; the placeholder is named, as production refuses it."""
    if not variable.secret:
        return str(value)
    raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    placeholders = (DEV_PASSWORD, DEV_RO_PASSWORD, DEV_SENTINEL_PASSWORD)
    return PLACEHOLDER if raw in placeholders else MASK


def effective_rows() -> list[tuple[str, str, str, str]]:
    """(variable, effective value, default, source) for every variable; source is env or default.

    The value is what the environment says, as given; `settings_errors` says which are invalid.
    """
    env = _environment()
    rows = []
    for v in all_variables():
        default = PLACEHOLDER if v.secret else str(v.default)
        if v.name in env:
            rows.append((v.name, shown_value(v, env[v.name]), default, "env"))
        else:
            rows.append((v.name, default, default, "default"))
    return rows


def effective_table() -> str:
    """`effective_rows` as aligned plain-text columns."""
    rows = [("VARIABLE", "VALUE", "DEFAULT", "SOURCE"), *effective_rows()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]])
        for row in rows
    )


def unknown_variables() -> list[str]:
    """MOODWATCH_* variables that no settings read: most likely typos."""
    known = known_variables()
    return sorted(n for n in _environment() if n.startswith("MOODWATCH_") and n not in known)


def settings_problems() -> tuple[list[str], list[str]]:
    """(warnings, errors): unknown MOODWATCH_* variables; each invalid setting once, with the
    commands it stops (production checks included, as each command applies its own)."""
    warnings = [f"Warning: {name} is set but no setting reads it" for name in unknown_variables()]
    stopped: dict[str, list[str]] = {}
    for cls in COMPONENTS:
        try:
            cls()
        except ValidationError as exc:
            for line in explain_validation_error(exc):
                stopped.setdefault(line, []).append(COMMANDS[cls])
    errors = [f"{line} (stops: {', '.join(commands)})" for line, commands in stopped.items()]
    return warnings, errors


@cache
def _settings_classes() -> dict[str, type[BaseSettings]]:
    """Every settings class by name, the nested ones included."""
    by_name: dict[str, type[BaseSettings]] = {}
    pending = list(COMPONENTS)
    while pending:
        cls = pending.pop()
        by_name[cls.__name__] = cls
        for field in cls.model_fields.values():
            nested = _settings_class(field.annotation)
            if nested is not None:
                pending.append(nested)
    return by_name


def _variable_for(title: str, loc: tuple[int | str, ...]) -> str | None:
    """The environment variable behind an error of the settings class named `title`."""
    current = _settings_classes().get(title)
    for index, part in enumerate(loc):
        if current is None or str(part) not in current.model_fields:
            return None
        nested = _settings_class(current.model_fields[str(part)].annotation)
        if nested is None:
            return f"{_prefix(current)}{part}".upper() if index == len(loc) - 1 else None
        current = nested
    return None


def _explain(title: str, error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    variable = _variable_for(title, tuple(error["loc"]))
    if variable is None:  # a check across variables: its message names them
        return message
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    expected = ctx.get("expected") or message.removeprefix("Input should be ")
    expected = str(expected).split(", unable")[0]
    value: object = error["input"]
    if "PASSWORD" in variable:
        value = MASK
    return f"{variable}={str(value)[:60]!r} is not valid: expected {expected}"


def explain_validation_error(exc: ValidationError) -> list[str]:
    """One line per error, naming the MOODWATCH_* variable and what it allows."""
    return [_explain(exc.title, error) for error in exc.errors()]


def is_settings_error(exc: ValidationError) -> bool:
    """Raised by building settings (not by some other pydantic model, e.g. a manifest)."""
    return exc.title in _settings_classes()
