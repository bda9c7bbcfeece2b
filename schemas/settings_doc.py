"""Lists every environment variable the settings read, for `moodwatch settings` and the README."""

from collections.abc import Iterator

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from schemas.settings import (
    DashboardSettings,
    ProducerSettings,
    ServicesSettings,
    TrainingSettings,
    WorkerSettings,
)

COMPONENTS: tuple[type[BaseSettings], ...] = (
    WorkerSettings,
    ProducerSettings,
    DashboardSettings,
    TrainingSettings,
    ServicesSettings,
)


def _is_settings(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseSettings)


def environment_variables(
    settings_class: type[BaseSettings],
) -> Iterator[tuple[str, object, str]]:
    """(variable, default, description) for the class and the settings nested in it."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    for name, field in settings_class.model_fields.items():
        if _is_settings(field.annotation):
            yield from environment_variables(field.annotation)  # type: ignore[arg-type]
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = "(development placeholder; required in production)"
        yield f"{prefix}{name}".upper(), default, field.description or ""


def known_variables() -> set[str]:
    return {name for cls in COMPONENTS for name, _, _ in environment_variables(cls)}


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    seen: set[str] = set()
    for cls in COMPONENTS:
        for name, default, description in environment_variables(cls):
            if name not in seen:
                seen.add(name)
                rows.append(f"| `{name}` | `{default}` | {description} |")
    return "\n".join(rows)
