"""The stream benchmark's table and JSON file."""

import json
import platform
from pathlib import Path
from typing import Any

TARGETS = {
    "bare_vs_pipeline_ratio": 3.0,
    "bare_vs_pipeline_b64_ratio": 1.5,
    "e2e_vs_bare_ratio": 0.90,
    "microbatch_speedup": 8.0,
}
LATENCY_P99_TARGET_S = 1.0
INFORMATIVE = ("bare_same_precision_vs_pipeline_ratio", "e2e_vs_bare_sorted_ratio")


def machine() -> dict[str, Any]:
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "device": device,
    }


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return f"{names[0]} x{len(names)}" if names else platform.processor()


def table(figures: dict[str, Any]) -> str:
    rates = figures.get("posts_per_s", {})
    lines = ["| measurement | posts/s |", "| --- | ---: |"] if rates else []
    lines += [f"| {name} | {value:,.1f} |" for name, value in rates.items()]
    if any(key in figures for key in TARGETS):
        lines += ["", "| ratio | measured | target | met |", "| --- | ---: | ---: | :-: |"]
    for key, target in TARGETS.items():
        value = figures.get(key)
        if value is not None:
            lines.append(f"| {key} | {value:.2f} | ≥ {target} | {_met(value >= target)} |")
    for key in INFORMATIVE:
        if key in figures:
            lines.append(f"| {key} | {figures[key]:.2f} | – | |")
    latency = figures.get("latency_s")
    if latency:
        lines += [""] if lines else []
        lines += ["| latency at offered rate | p50 | p95 | p99 | target p99 |"]
        lines += ["| --- | ---: | ---: | ---: | ---: |"]
        met = _met(latency["p99"] <= LATENCY_P99_TARGET_S)
        lines.append(
            f"| {latency['offered_per_s']:.0f} posts/s, {latency['posts']} posts "
            f"| {latency['p50']:.3f} s | {latency['p95']:.3f} s | {latency['p99']:.3f} s "
            f"| ≤ {LATENCY_P99_TARGET_S} s {met} |"
        )
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def write(figures: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
