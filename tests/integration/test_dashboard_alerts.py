"""The page's early warning comes from the `alerts` table: listed, explained, ringed.

The dashboard computes no spikes of its own: an empty table shows no alert whatever the
trend, and a row the sentinel wrote shows with its terms and example posts.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert
from streamlit.testing.v1 import AppTest

from schemas.settings import DatabaseSettings
from schemas.tables import alerts
from tests.integration.test_dashboard_app import app, charts, no_traceback, seeded_db

pytestmark = pytest.mark.integration
__all__ = ["app", "seeded_db"]  # fixtures of the page's own tests, reused


def write_alert(db: DatabaseSettings, bucket: datetime) -> None:
    engine = create_engine(db.url())
    with engine.begin() as connection:
        connection.execute(
            insert(alerts).values(
                episode_key=f"fear:*:rise:{bucket:%Y-%m-%dT%H:%MZ}",
                emotion="fear",
                source="*",
                direction="rise",
                bucket=bucket,
                first_seen=bucket - timedelta(hours=2),
                last_seen=bucket,
                observed_share=0.42,
                observed_posts=25,
                window_posts=60,
                baseline_share=0.12,
                score=7.5,
                peak_score=7.5,
                explanation=[{"term": "volcano ash", "score": 6.1}, {"term": "volcano"}],
                example_post_ids=["dash-a-9", "dash-b-9"],
                delivery_state="delivered",
            )
        )
    engine.dispose()


def test_without_alert_rows_the_page_shows_none(app: AppTest) -> None:
    at = no_traceback(app.run())
    assert any("No alerts in this range" in s.value for s in at.success)
    assert charts(at)["layer"]["label"].notna().all()  # the lines, no ring data beside them


def test_an_alert_row_is_listed_explained_and_ringed(
    app: AppTest, seeded_db: DatabaseSettings
) -> None:
    bucket = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    write_alert(seeded_db, bucket)
    at = no_traceback(app.run())
    table = next(frame.value for frame in at.dataframe if "direction" in frame.value.columns)
    row = table.iloc[0]
    assert (row["emotion"], row["direction"], row["delivery_state"]) == (
        "fear",
        "rise",
        "delivered",
    )
    assert row["terms"].startswith("volcano ash")
    assert any("Rising terms: volcano ash, volcano" in t.value for t in at.text)
    examples = [frame.value for frame in at.dataframe if "post_id" in frame.value.columns]
    assert any(set(frame["post_id"]) == {"dash-a-9", "dash-b-9"} for frame in examples)
    layer = charts(at)["layer"]
    ringed = layer[layer["direction"].notna()] if "direction" in layer else layer.iloc[0:0]
    assert list(ringed["label"]) == ["fear"]
