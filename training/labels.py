"""Training's label rule: a row's label must name one of the six emotions.

The reader (`producer.sources`, shared with `moodwatch produce`) yields labels as given, free-
form; the producer keeps any of them, training only these: an id 0-5 or a name of
`schemas.emotions`, or an alias that copies of CARER use.
"""

from typing import Any

from producer.rows import RawPost
from schemas.emotions import LABELS, Emotion

# Other names the same six labels go by in circulating copies of CARER.
LABEL_ALIASES = {"happiness": "joy", "happy": "joy", "worry": "fear", "sad": "sadness"}


def parse_label(value: Any) -> int:
    """A label id 0-5 (int or digit string) or a label name (case-insensitive, aliases allowed)."""
    if isinstance(value, bool):
        raise ValueError(f"label {value!r} is a boolean, not a label")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if not 0 <= number < len(LABELS):
            raise ValueError(f"label id {number} is outside 0..{len(LABELS) - 1}")
        return number
    if isinstance(value, str):
        name = value.strip().lower()
        return int(Emotion.from_label(LABEL_ALIASES.get(name, name)))
    raise ValueError(f"label {value!r} is neither an id nor a name")


def emotion_of(row: RawPost) -> int:
    """Training's label rule: the row's label must name an emotion, and a second label field
    (`label_name` beside `label`) must name the same one, or one of the two is wrong."""
    if not row.labels:
        raise ValueError("no label")
    (name, given), *others = row.labels
    label = parse_label(given)
    for other, value in others:
        try:
            agrees = parse_label(value) == label
        except ValueError:
            agrees = False
        if not agrees:
            raise ValueError(f"{name} {given!r} and {other} {value!r} disagree")
    return label
