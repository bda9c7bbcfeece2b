"""posts, the per-minute emotion rollup, share views, read-only grants

Revision ID: 0001
Revises:
"""

import re

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")  # frozen at this revision


def _share_view(name: str, grain: str) -> str:
    return f"""
        CREATE VIEW {name} AS
        SELECT date_trunc('{grain}', bucket) AS bucket,
               label,
               sum(posts)::bigint AS posts,
               sum(posts)::double precision
                 / sum(sum(posts)) OVER (PARTITION BY date_trunc('{grain}', bucket)) AS share
        FROM emotion_rollup
        GROUP BY 1, 2
    """


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "posts",
        sa.Column("post_id", sa.String(256), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(256)),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.Column("meta", JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        *(sa.Column(f"p_{label}", sa.Float, nullable=False) for label in LABELS),
        sa.Column("uncertainty", sa.Float, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("kafka_topic", sa.String(255), nullable=False),
        sa.Column("kafka_partition", sa.Integer, nullable=False),
        sa.Column("kafka_offset", sa.BigInteger, nullable=False),
        sa.CheckConstraint(f"label IN {LABELS!r}", name="posts_label_known"),
    )
    op.create_index("posts_created_at", "posts", ["created_at"])
    op.create_index("posts_source_created_at", "posts", ["source", "created_at"])
    op.create_index("posts_author", "posts", ["author"])
    op.create_index("posts_uncertainty", "posts", ["uncertainty"])
    op.execute("CREATE INDEX posts_text_trgm ON posts USING gin (text gin_trgm_ops)")
    op.create_table(
        "emotion_rollup",
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(16), primary_key=True),
        sa.Column("posts", sa.BigInteger, nullable=False),
    )
    op.execute(_share_view("emotion_share_hourly", "hour"))
    op.execute(_share_view("emotion_share_daily", "day"))
    _grant_readonly()


def _grant_readonly() -> None:
    """Grant SELECT to the read-only role; whoever provisions the server creates the role."""
    role = context.config.get_main_option("moodwatch_readonly_role") or "moodwatch_ro"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"read-only role name {role!r} must match [a-z_][a-z0-9_]*")
    # A DO block takes no bind parameters; the name was checked above, and %I quotes it.
    op.execute(
        f"""
        DO $grant$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', '{role}');
            EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', '{role}');
            EXECUTE format(
              'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %I', '{role}');
          ELSE
            RAISE WARNING 'read-only role {role} does not exist; no grants given';
          END IF;
        END
        $grant$
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS emotion_share_daily")
    op.execute("DROP VIEW IF EXISTS emotion_share_hourly")
    op.drop_table("emotion_rollup")
    op.drop_table("posts")
