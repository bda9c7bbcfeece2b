"""`benchmarks/gpu.sh` on a machine without CUDA: a JSON that says the GPU figures are
unmeasured, in seconds, with nothing started."""

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_without_cuda_it_writes_that_nothing_was_measured(tmp_path: Path) -> None:
    output = tmp_path / "gpu.json"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no CUDA, even on a GPU machine
    subprocess.run(
        ["bash", "benchmarks/gpu.sh", "--output", str(output)],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    figures = json.loads(output.read_text())
    assert figures["cuda"] is None and figures["measured"] is False
    assert "unmeasured" in figures["note"] and "bundles" not in figures
