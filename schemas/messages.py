"""The Kafka post message and the prediction attached to it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.emotions import LABELS

MAX_TEXT_CHARS = 10_000
MAX_ID_CHARS = 256


class PostMessage(BaseModel):
    """One post as produced to the posts topic (JSON value, key = post id).

    Unknown fields are ignored; `created_at` defaults to the Kafka record timestamp.
    """

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    text: str = Field(max_length=MAX_TEXT_CHARS)
    created_at: datetime | None = None
    author: str | None = Field(default=None, max_length=256)
    source: str | None = Field(default=None, max_length=64)
    lang: str | None = Field(default=None, max_length=16)
    meta: dict[str, Any] | None = None

    @field_validator("id")
    @classmethod
    def _id_printable(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id is blank")
        if "\x00" in value:
            raise ValueError("id contains a NUL byte")
        return value

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty after trimming")
        # PostgreSQL text cannot hold NUL; dropping it keeps the post instead of losing it.
        return value.replace("\x00", "")

    @field_validator("created_at", mode="before")
    @classmethod
    def _parse_rfc3339(cls, value: object) -> object:
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if value is not None and not isinstance(value, datetime):
            raise ValueError("created_at must be an RFC 3339 string")
        return value

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("created_at needs a time zone offset (RFC 3339)")
        return value


class Prediction(BaseModel):
    """What the ensemble says of one text."""

    model_config = ConfigDict(frozen=True)

    label: str
    probability: float
    probabilities: tuple[float, ...] = Field(min_length=len(LABELS), max_length=len(LABELS))
    uncertainty: float
    model_version: str

    @property
    def as_dict(self) -> dict[str, float]:
        return dict(zip(LABELS, self.probabilities, strict=True))
