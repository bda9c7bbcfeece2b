"""One input row as a `RawPost`, and the errors that name a bad one.

A JSON object or CSV row becomes a `RawPost` here: the fields the post message carries, read
through the user's column mapping, with their types checked, and its label as given. Readers
of the file formats live in `producer.formats`. These rows are what `moodwatch produce` and
`moodwatch train` both read; each decides what a label must be: `producer.plan` keeps it in the
message's meta, `training.labels` requires an emotion.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.exit_codes import ExitCode, UserError


class ProduceError(UserError, ValueError):
    """A user mistake while producing (bad option, bad row, unreachable broker): its message
    (and hint) are meant to be shown alone, without a traceback. A `ValueError` too, so that
    callers that caught the old `ValueError` still do."""


class SourceError(ProduceError):
    """A bad input row; the message starts with `file:line:`."""

    def __init__(self, where: str, line: int, problem: str) -> None:
        super().__init__(f"{where}:{line}: {problem}")
        self.where = where
        self.line = line
        self.problem = problem


def settings_error(problem: str, hint: str = "") -> ProduceError:
    """A bad command-line option: exit code BAD_SETTINGS, as for any `moodwatch` command."""
    return ProduceError(problem, hint, ExitCode.BAD_SETTINGS)


# The CLI option that maps each post field, for messages that tell the user what to change.
COLUMN_OPTIONS = {
    "text": "--text-column",
    "id": "--id-column",
    "author": "--author-column",
    "created_at": "--time-column",
    "source": "--source-column",
    "lang": "--lang-column",
    "label": "--label-column",  # `moodwatch train`'s option: the producer never names a label
}
OPTIONAL_FIELDS = ("author", "created_at", "source", "lang")


@dataclass(frozen=True)
class Columns:
    """Which input field holds each post field. None means "the post field's own name, when a
    row has it"; a name the user gave must be there (a typo must not pass silently). `label`
    None means `label_name`, else `label`."""

    text: str = "text"
    id: str | None = None
    author: str | None = None
    created_at: str | None = None
    source: str | None = None
    lang: str | None = None
    label: str | None = None

    def name(self, field: str) -> str:
        given: str | None = getattr(self, field)
        return given or field

    def named(self) -> dict[str, str]:
        """{post field: input field} for the fields the user mapped (text always counts)."""
        fields = ("text", "id", *OPTIONAL_FIELDS, "label")
        return {field: getattr(self, field) for field in fields if getattr(self, field)}


@dataclass(frozen=True)
class RawPost:
    """One input row, its types checked; `post_id` is None when the row has none.

    `created_at` is the time as written in the input (PostMessage validates it). `labels` are
    (field, value as a string) for each label field the row gives, the one that counts first;
    nothing checks them here. `label`, the first value, with the other fields makes the row's
    generated id.
    """

    line: int
    text: str
    post_id: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    author: str | None = None
    lang: str | None = None
    source: str | None = None
    created_at: str | None = None
    meta: Mapping[str, Any] | None = None

    @property
    def label(self) -> str | None:
        return self.labels[0][1] if self.labels else None


DEFAULT_COLUMNS = Columns()
Row = RawPost | SourceError  # readers yield a bad row's error instead of stopping


def post_from_mapping(obj: Mapping[str, Any], line: int, where: str, columns: Columns) -> RawPost:
    """Check the fields of a JSON object or CSV row and keep the ones a post message carries."""
    text = obj.get(columns.text)
    if not isinstance(text, str):
        shown = "missing" if text is None else f"a {type(text).__name__}"
        raise SourceError(where, line, f"field {columns.text!r} must be a string, is {shown}")
    optional = {
        field: _optional_str(obj, columns.name(field), where, line) for field in OPTIONAL_FIELDS
    }
    return RawPost(
        line=line,
        text=text,
        post_id=_post_id(obj, columns, where, line),
        labels=labels_of(obj, columns, where, line),
        meta=_meta(obj.get("meta"), where, line),
        **optional,
    )


def _optional_str(obj: Mapping[str, Any], name: str, where: str, line: int) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise SourceError(where, line, f"field {name!r} must be a string")
    return value


def _post_id(obj: Mapping[str, Any], columns: Columns, where: str, line: int) -> str | None:
    field = columns.name("id")
    value = obj.get(field)
    if value is None or value == "":
        if columns.id is not None:  # named by the user: generating ids would store twice
            raise SourceError(where, line, f"no {field!r} field (named by --id-column)")
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SourceError(where, line, f"field {field!r} must be a string or an integer")


def _meta(value: object, where: str, line: int) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise SourceError(where, line, "field 'meta' must be a JSON object")


def labels_of(
    obj: Mapping[str, Any], columns: Columns, where: str, line: int
) -> tuple[tuple[str, str], ...]:
    """The row's label fields as given, as strings, never checked: inputs carry sentiments,
    scores or emotions alike. `label_name` comes before `label` because datasets with both
    (the emotion files) put the readable name there; a named label column comes first, and
    must be there, with `label_name` after it, so that a caller can check that they agree."""
    fields = (columns.label, "label_name") if columns.label else ("label_name", "label")
    given = {field: obj.get(field) for field in dict.fromkeys(fields)}
    found = {field: value for field, value in given.items() if value is not None and value != ""}
    if columns.label and columns.label not in found:
        raise SourceError(where, line, f"no {columns.label!r} field (named by --label-column)")
    return tuple(
        (field, value if isinstance(value, str) else json.dumps(value))
        for field, value in found.items()
    )
