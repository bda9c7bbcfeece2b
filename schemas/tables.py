"""SQLAlchemy 2 tables. Alembic owns the schema; these mirror its newest revision, indexes and
constraints included, so that `alembic revision --autogenerate` finds nothing to change
(tests/integration/test_schema_mirror.py holds them to it)."""

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
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from schemas.emotions import LABELS

metadata = MetaData()

PROBABILITY_COLUMNS = tuple(f"p_{label}" for label in LABELS)

posts = Table(
    "posts",
    metadata,
    Column("post_id", String(256), primary_key=True),
    Column("text", Text, nullable=False),
    Column("author", String(256)),
    Column("source", String(64), nullable=False),
    Column("lang", String(16)),
    Column("meta", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False),
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
)


def _rollup(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("bucket", DateTime(timezone=True), primary_key=True),
        Column("source", String(64), primary_key=True),
        Column("label", String(16), primary_key=True),
        Column("posts", BigInteger, nullable=False),
    )


emotion_rollup = _rollup("emotion_rollup")  # per minute
emotion_rollup_hourly = _rollup("emotion_rollup_hourly")  # the same counts per hour
