"""Posts skipped (already stored, past the retention): counted, and said without a line per
batch."""

import pytest
import structlog

from worker import metrics
from worker.skip_report import ALREADY_STORED, PAST_RETENTION, REPORT_EVERY_S, SkipReport


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counted() -> float:
    return metrics.POSTS_DUPLICATE._value.get()  # type: ignore[attr-defined, no-any-return]


def test_every_skipped_post_is_counted_in_the_metric() -> None:
    report, before = SkipReport(ALREADY_STORED, Clock()), counted()
    report.skipped(3)
    report.skipped(0)
    report.skipped(2)
    assert counted() - before == 5


def test_the_first_skip_is_logged_at_once_then_at_most_once_a_minute() -> None:
    clock = Clock()
    report = SkipReport(ALREADY_STORED, clock)
    with structlog.testing.capture_logs() as logs:
        report.skipped(4)
        clock.now += REPORT_EVERY_S - 1
        report.skipped(5)
        report.skipped(6)
        clock.now += 1
        report.skipped(7)
    assert [(entry["log_level"], entry["posts"]) for entry in logs] == [
        ("warning", 4),
        ("warning", 18),
    ]


@pytest.mark.parametrize("posts", [0, -1])
def test_nothing_skipped_says_nothing(posts: int) -> None:
    with structlog.testing.capture_logs() as logs:
        SkipReport(ALREADY_STORED, Clock()).skipped(posts)
    assert logs == []


def test_each_reason_has_its_own_metric_and_line() -> None:
    expired_before = metrics.POSTS_EXPIRED._value.get()  # type: ignore[attr-defined]
    duplicates_before = counted()
    with structlog.testing.capture_logs() as logs:
        SkipReport(PAST_RETENTION, Clock()).skipped(2)
    assert metrics.POSTS_EXPIRED._value.get() - expired_before == 2  # type: ignore[attr-defined]
    assert counted() == duplicates_before
    assert logs[0]["event"] == "posts skipped: created before the retention horizon"
    assert "MOODWATCH_RETENTION_DAYS" in logs[0]["hint"]
