"""The stream benchmark's table: what a reader of `make bench-stream` sees."""

from benchmarks.stream_report import table

LATENCY = {"offered_per_s": 130.0, "posts": 3900, "p50": 0.16, "p95": 0.36, "p99": 1.2}


def test_a_missed_target_reads_no() -> None:
    figures = {
        "posts_per_s": {"bare": 300.0, "e2e_micro_batched": 250.0},
        "e2e_vs_bare_ratio": 0.84,
        "microbatch_speedup": 8.1,
        "latency_s": LATENCY,
    }
    lines = table(figures).splitlines()
    assert "| e2e_vs_bare_ratio | 0.84 | ≥ 0.9 | NO |" in lines
    assert "| microbatch_speedup | 8.10 | ≥ 8.0 | yes |" in lines
    assert lines[-1].endswith("| 1.200 s | ≤ 1.0 s NO |")


def test_a_latency_only_run_prints_only_its_latency() -> None:
    lines = table({"latency_s": {**LATENCY, "p99": 0.44}}).splitlines()
    assert lines[0] == "| latency at offered rate | p50 | p95 | p99 | target p99 |"
    assert lines[2:] == ["| 130 posts/s, 3900 posts | 0.160 s | 0.360 s | 0.440 s | ≤ 1.0 s yes |"]
