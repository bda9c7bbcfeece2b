"""the alerts table the sentinel writes and SQL users read

One row per alert episode: an ongoing spike updates its row, it does not open a new one.
The read-only role reads it; the sentinel role (provisioned like the read-only one) reads
every table and writes this one only.

Revision ID: 0004
Revises: 0003
"""

import re
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")  # frozen at this revision
DIRECTIONS = ("rise", "drop")
STATES = ("open", "closed")
DELIVERY_STATES = ("pending", "delivered", "cooldown", "rejected", "off")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("episode_key", sa.String(200), nullable=False),
        sa.Column("emotion", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        _timestamp("bucket"),
        _timestamp("first_seen"),
        _timestamp("last_seen"),
        sa.Column("state", sa.String(8), nullable=False, server_default="open"),
        sa.Column("observed_share", sa.Float, nullable=False),
        sa.Column("observed_posts", sa.BigInteger, nullable=False),
        sa.Column("window_posts", sa.BigInteger, nullable=False),
        sa.Column("baseline_share", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("peak_score", sa.Float, nullable=False),
        sa.Column("explanation", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column(
            "example_post_ids",
            ARRAY(sa.String(256)),
            nullable=False,
            server_default=sa.text("'{}'::varchar[]"),
        ),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        _timestamp("closed_at", nullable=True),
        sa.Column("delivery_state", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("delivery_attempts", sa.Integer, nullable=False, server_default="0"),
        _timestamp("next_attempt_at", nullable=True),
        _timestamp("delivered_at", nullable=True),
        sa.Column("delivery_error", sa.Text),
        sa.UniqueConstraint("episode_key", name="alerts_episode_key"),
        sa.CheckConstraint(f"emotion IN {LABELS!r}", name="alerts_emotion_known"),
        sa.CheckConstraint(f"direction IN {DIRECTIONS!r}", name="alerts_direction_known"),
        sa.CheckConstraint(f"state IN {STATES!r}", name="alerts_state_known"),
        sa.CheckConstraint(
            f"delivery_state IN {DELIVERY_STATES!r}", name="alerts_delivery_state_known"
        ),
    )
    op.create_index("alerts_key_last_seen", "alerts", ["emotion", "source", "last_seen"])
    op.create_index("alerts_bucket", "alerts", ["bucket"])
    op.create_index("alerts_delivery_due", "alerts", ["delivery_state", "next_attempt_at"])
    _grant()


def _role(option: str, default: str) -> str:
    role = context.config.get_main_option(option) or default
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"role name {role!r} must match [a-z_][a-z0-9_]*")
    return role


def _grant() -> None:
    """The read-only role reads alerts; the sentinel role reads all and writes alerts only.

    Whoever provisions the server creates the roles (`moodwatch services up`, the compose
    init scripts); a missing one gets a warning, as in revision 0001.
    """
    readonly = _role("moodwatch_readonly_role", "moodwatch_ro")
    sentinel = _role("moodwatch_sentinel_role", "moodwatch_sentinel")
    # DO blocks take no bind parameters; the names were checked above, and %I quotes them.
    op.execute(
        f"""
        DO $grant$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{readonly}') THEN
            EXECUTE format('GRANT SELECT ON alerts TO %I', '{readonly}');
          END IF;
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{sentinel}') THEN
            EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', '{sentinel}');
            EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', '{sentinel}');
            EXECUTE format(
              'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %I',
              '{sentinel}');
            EXECUTE format('GRANT INSERT, UPDATE ON alerts TO %I', '{sentinel}');
            EXECUTE format('GRANT USAGE ON SEQUENCE alerts_alert_id_seq TO %I', '{sentinel}');
          ELSE
            RAISE WARNING 'sentinel role {sentinel} does not exist; no grants given';
          END IF;
        END
        $grant$
        """
    )


def downgrade() -> None:
    sentinel = _role("moodwatch_sentinel_role", "moodwatch_sentinel")
    op.execute(
        f"""
        DO $revoke$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{sentinel}') THEN
            EXECUTE format(
              'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM %I',
              '{sentinel}');
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', '{sentinel}');
          END IF;
        END
        $revoke$
        """
    )
    op.drop_table("alerts")
