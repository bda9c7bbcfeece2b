"""A member run by ONNX Runtime on a CPU: the bundle's exported graph, fp32 or int8.

One session per member, its intra-op pool sized to the cores this process may use. Its threads
do not spin while waiting for work: the worker shares its cores with Kafka, PostgreSQL and, on
a small machine, everything else, and spinning threads took CPU from all of them (the same
reason the worker sets OMP_WAIT_POLICY=PASSIVE for torch). No I/O binding: inputs and outputs
already live in host memory, so there is no copy for it to save on a CPU.
"""

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

Logits = np.ndarray[Any, np.dtype[np.float64]]


def cpu_cores() -> int:
    """The cores this process may run on (its affinity, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no sched_getaffinity outside Linux
        return max(1, os.cpu_count() or 1)


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: graph-fusion notices are not a user's concern
    return options


class OrtMember:
    runtime = "onnxruntime"

    def __init__(self, path: Path, precision: str, threads: int | None = None) -> None:
        self.path = path
        self.precision = precision
        try:
            self.session = ort.InferenceSession(
                str(path),
                sess_options=session_options(threads or cpu_cores()),
                providers=["CPUExecutionProvider"],
            )
        except RuntimeError as exc:  # onnxruntime's NoSuchFile, InvalidProtobuf, Fail, ...
            raise ValueError(f"cannot load {path}: {exc}") from exc
        self.accepted_inputs = frozenset(i.name for i in self.session.get_inputs())

    def logits(self, encoded: dict[str, np.ndarray[Any, Any]]) -> Logits:
        feeds = {k: v.astype(np.int64, copy=False) for k, v in encoded.items()}
        (out,) = self.session.run(["logits"], {k: feeds[k] for k in self.accepted_inputs})
        return np.asarray(out, dtype=np.float64)
