"""SQLAlchemy 2 tables. Alembic owns the schema; these mirror its newest revision, indexes and
constraints included, so that `alembic revision --autogenerate` finds nothing to change
(tests/integration/test_schema_mirror.py holds them to it)."""

import re

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from schemas.emotions import LABELS

metadata = MetaData()

PROBABILITY_COLUMNS = tuple(f"p_{label}" for label in LABELS)

# Partitioned by day (revision 0005): the primary key must hold the partition key, so the id's
# uniqueness lives in the `post_ids` ledger below. The partitions themselves (`posts_pYYYYMMDD`,
# `posts_default`) are made and dropped by worker/partitions.py, not mirrored here.
posts = Table(
    "posts",
    metadata,
    Column("post_id", String(256), primary_key=True),
    Column("text", Text, nullable=False),
    Column("author", String(256)),
    Column("source", String(64), nullable=False),
    Column("lang", String(16)),
    Column("meta", JSONB),
    Column("created_at", DateTime(timezone=True), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("label", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
    *(Column(name, Float, nullable=False) for name in PROBABILITY_COLUMNS),
    Column("uncertainty", Float, nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("kafka_topic", String(255), nullable=False),
    Column("kafka_partition", Integer, nullable=False),
    Column("kafka_offset", BigInteger, nullable=False),
    CheckConstraint(f"label IN {LABELS!r}", name="posts_label_known"),
    Index("posts_created_at", "created_at"),
    Index("posts_source_created_at", "source", "created_at"),
    Index("posts_author", "author"),
    Index("posts_uncertainty", "uncertainty"),
    # keyword search on the dashboard (pg_trgm, created by revision 0001)
    Index(
        "posts_text_trgm", "text", postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}
    ),
    postgresql_partition_by="RANGE (created_at)",
)

DAY_PARTITION = re.compile(r"posts_(p\d{8}|default)")


def mirrored(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's `include_name`: the partitions of `posts` (made and dropped at run time by
    worker/partitions.py, one a day) are not part of the mirror; their parent is."""
    return not (type_ == "table" and name is not None and DAY_PARTITION.fullmatch(name))


# One row per stored post id, whichever partition holds the post: a post is inserted only when
# its id is new here (worker/store.py). Kept while the horizon lasts (worker/partitions.py).
post_ids = Table(
    "post_ids",
    metadata,
    Column("post_id", String(256), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("post_ids_created_at", "created_at"),
)


def _rollup(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("bucket", DateTime(timezone=True), primary_key=True),
        Column("source", String(64), primary_key=True),
        Column("label", String(16), primary_key=True),
        Column("posts", BigInteger, nullable=False),  # posts of the bucket labelled `label`
        # sum of p_<label> over all the bucket's posts: its expected count (revision 0003);
        # a row may hold posts = 0 and a sum still
        Column("probability_sum", Float, nullable=False, server_default=text("0")),
    )


emotion_rollup = _rollup("emotion_rollup")  # per minute
emotion_rollup_hourly = _rollup("emotion_rollup_hourly")  # the same counts per hour

# Posts per hour and model version: which bundle labelled how much of a range.
version_rollup = Table(
    "version_rollup",
    metadata,
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("model_version", String(64), primary_key=True),
    Column("posts", BigInteger, nullable=False),
)

# A candidate bundle in shadow: per hour, source and candidate version, the live label x the
# candidate's label (their confusion counts: shares of both, and where they agree).
shadow_rollup = Table(
    "shadow_rollup",
    metadata,
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("model_version", String(64), primary_key=True),
    Column("live_label", String(16), primary_key=True),
    Column("label", String(16), primary_key=True),
    Column("posts", BigInteger, nullable=False),
)


# Alert episodes (revision 0004): written by the sentinel role only, read by the read-only role.
ALERT_DIRECTIONS = ("rise", "drop")
ALERT_STATES = ("open", "closed")
DELIVERY_STATES = ("pending", "delivered", "cooldown", "rejected", "off")
ALL_SOURCES = "*"  # the `source` of an alert on every source together

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", BigInteger, primary_key=True, autoincrement=True),
    Column("episode_key", String(200), nullable=False),  # the webhook's idempotency key
    Column("emotion", String(16), nullable=False),
    Column("source", String(64), nullable=False),
    Column("direction", String(4), nullable=False),
    Column("bucket", DateTime(timezone=True), nullable=False),  # the hour it was detected in
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("state", String(8), nullable=False, server_default="open"),
    Column("observed_share", Float, nullable=False),
    Column("observed_posts", BigInteger, nullable=False),
    Column("window_posts", BigInteger, nullable=False),
    Column("baseline_share", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("peak_score", Float, nullable=False),
    Column("explanation", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column(
        "example_post_ids",
        ARRAY(String(256)),
        nullable=False,
        server_default=text("'{}'::varchar[]"),
    ),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_at", DateTime(timezone=True)),
    Column("delivery_state", String(10), nullable=False, server_default="pending"),
    Column("delivery_attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("delivery_error", Text),
    UniqueConstraint("episode_key", name="alerts_episode_key"),
    CheckConstraint(f"emotion IN {LABELS!r}", name="alerts_emotion_known"),
    CheckConstraint(f"direction IN {ALERT_DIRECTIONS!r}", name="alerts_direction_known"),
    CheckConstraint(f"state IN {ALERT_STATES!r}", name="alerts_state_known"),
    CheckConstraint(f"delivery_state IN {DELIVERY_STATES!r}", name="alerts_delivery_state_known"),
    Index("alerts_key_last_seen", "emotion", "source", "last_seen"),
    Index("alerts_bucket", "bucket"),
    Index("alerts_delivery_due", "delivery_state", "next_attempt_at"),
)
