"""Text normalisation shared by training and inference; the bundle says which steps are on."""

import re
import unicodedata

from schemas.bundle import Normalisation

_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w{1,30}")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_REPEAT = re.compile(r"([^\W\d_])\1{2,}")  # letters only: "$1000" stays
_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def _emoji_names(text: str) -> str:
    """Spell emojis out ("😂" -> " face with tears of joy ") so word-piece vocabularies see them."""
    parts = []
    for char in text:
        if unicodedata.category(char) == "So":
            name = unicodedata.name(char, "")
            parts.append(f" {name.lower()} " if name else " ")
        else:
            parts.append(char)
    return "".join(parts)


def normalise(text: str, steps: Normalisation) -> str:
    """Apply the bundle's normalisation; the result is also the Redis cache key's input."""
    if steps.urls:
        text = _URL.sub("http", text)
    if steps.mentions:
        text = _MENTION.sub("@user", text)
    if steps.hashtags:
        text = _HASHTAG.sub(r"\1", text)
    if steps.emojis:
        text = _emoji_names(text)
    if steps.repeated_letters:
        text = _REPEAT.sub(r"\1\1", text)
    if steps.lowercase:
        text = text.lower()
    if steps.strip_punctuation:
        text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
