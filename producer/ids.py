"""Post ids for rows without one, made from what the row says.

The worker stores each post id once, so a generated id decides what counts as "the same
post". It is a digest of the row's own fields as read (text, author, created_at as written,
its source field, lang, meta, label): the same record replayed from any file, under any file
name, or piped on stdin gets the same id, and two different records never share one whatever
their files are called. It leaves out the file name, the line number, --source-name and the
time-warp, which would turn a replay into new posts, or a moved line into a different post.
"""

import hashlib
import json
from collections import Counter

from producer.rows import RawPost

DIGEST_CHARS = 20  # 80 bits: a collision among a billion posts has odds of about 1 in 2.4 M


def record_digest(raw: RawPost) -> str:
    """The first 20 hex characters of the SHA-256 of the row's fields as canonical JSON."""
    fields = {
        "text": raw.text,
        "author": raw.author,
        "created_at": raw.created_at,
        "source": raw.source,
        "lang": raw.lang,
        "meta": None if raw.meta is None else dict(raw.meta),
        "label": raw.label,
    }
    present = {name: value for name, value in fields.items() if value is not None}
    canonical = json.dumps(present, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]


class IdMaker:
    """Ids for the rows of one input, read from its start: a row's own id as it is, else
    `{prefix}{digest}`, and `{prefix}{digest}-{k}` for the k-th identical record (k >= 2).

    Counting repeats keeps two identical lines two posts (a post said twice was said twice),
    and replaying the input still maps each onto the id it had.
    """

    def __init__(self, prefix: str = "") -> None:
        self._prefix = prefix
        self._seen: Counter[str] = Counter()

    def __call__(self, raw: RawPost) -> str:
        if raw.post_id is not None:
            return raw.post_id
        digest = record_digest(raw)
        self._seen[digest] += 1
        repeat = self._seen[digest]
        return f"{self._prefix}{digest}" + (f"-{repeat}" if repeat > 1 else "")
