"""The stream benchmark's measurements; `bench_stream` is its command line."""

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine

from benchmarks import stream_e2e as e2e
from benchmarks import stream_inference as inference
from benchmarks import stream_profile
from benchmarks.stream_report import machine
from benchmarks.stream_texts import load_texts
from devstack.streams import Stream
from model.passes import INFERENCE_BATCH_SIZE
from model.predictor import EnsemblePredictor
from schemas.settings import DatabaseSettings


def measure_inference(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    """Bare rates with the worker's runtime; pipelines in torch fp32, as a user would run them."""
    predictor = EnsemblePredictor.load(args.bundle, args.device, args.cpu_runtime)
    rates = {
        "bare": inference.bare(predictor, texts, INFERENCE_BATCH_SIZE),
        "bare_micro_batches": inference.bare_micro_batches(predictor, texts, args.batch_size),
    }
    if not args.quick:
        rates |= _against_pipelines(args, predictor, texts[: args.pipeline_posts])
    members = [m.spec.name for m in predictor.members]
    return {"rates": rates, "members": members, "predictor": predictor}


def _against_pipelines(
    args: argparse.Namespace, predictor: EnsemblePredictor, few: list[str]
) -> dict[str, inference.Rate]:
    """Pipelines and bare paths on the same texts, in interleaved rounds, each rate the median
    of its rounds: a drift in the machine's speed then hits both sides of a ratio alike."""
    fast = args.device == "cpu" and args.cpu_runtime != "torch"
    full = EnsemblePredictor.load(args.bundle, args.device, "torch") if fast else predictor
    classifiers = inference.pipelines(args.bundle, full, args.device)
    runs: dict[str, Callable[[], inference.Rate]] = {
        "bare_same_texts_as_pipeline": lambda: inference.bare(full, few, INFERENCE_BATCH_SIZE),
        "pipeline_default": lambda: inference.through_pipeline(classifiers, few, None),
        "pipeline_batch_64": lambda: inference.through_pipeline(classifiers, few, 64),
    }
    if fast:  # the worker's CPU path: ONNX Runtime (MOODWATCH_WORKER_CPU_RUNTIME)
        runs["bare_fast_same_texts_as_pipeline"] = lambda: inference.bare(predictor, few, 64)
    taken: dict[str, list[inference.Rate]] = {name: [] for name in runs}
    for _ in range(max(1, args.rounds)):
        for name, run in runs.items():
            taken[name].append(run())
    return {name: _median(rates) for name, rates in taken.items()}


def _median(rates: list[inference.Rate]) -> inference.Rate:
    return sorted(rates, key=lambda rate: rate.per_s)[(len(rates) - 1) // 2]


def worker_settings(args: argparse.Namespace, batch_size: int) -> dict[str, str]:
    settings = {
        "batch_max_size": str(batch_size),
        "device": args.device,
        "cpu_runtime": args.cpu_runtime,
    }
    if args.batch_wait_ms is not None:
        settings["batch_max_wait_ms"] = str(args.batch_wait_ms)
    return settings


def measure_worker(
    args: argparse.Namespace, texts: list[str], batch_size: int, log: Path
) -> e2e.WorkerRun:
    engine = create_engine(DatabaseSettings().url())
    stream = Stream.fresh(partitions=4)
    try:
        e2e.produce(stream, texts)
        settings = worker_settings(args, batch_size)
        name = f"worker-batch-{batch_size}"
        spy = stream_profile.prefix(args.profile, name)
        with e2e.worker(stream, args.bundle, log, spy, **settings):
            e2e.await_rows(engine, stream.source, len(texts), timeout_s=1800)
        stream_profile.summarise(args.profile, name)
        return e2e.throughput(engine, stream.source)
    finally:
        e2e.forget(engine, stream)
        engine.dispose()


def measure_latency(
    args: argparse.Namespace, texts: list[str], rate: float, log: Path
) -> dict[str, float]:
    engine = create_engine(DatabaseSettings().url())
    stream = Stream.fresh(partitions=4)
    count = max(50, int(rate * args.latency_seconds))
    paced = (texts * (count // len(texts) + 1))[:count]
    try:
        with e2e.worker(stream, args.bundle, log, **worker_settings(args, args.batch_size)):
            e2e.produce(stream, paced[:64])  # warm-up: the group joined, the model hot
            e2e.await_rows(engine, stream.source, 64, timeout_s=600)
            e2e.forget(engine, stream)
            warm = Stream(kafka=stream.kafka, source=stream.source + "-paced")
            e2e.produce(warm, paced, rate=rate)
            e2e.await_rows(engine, warm.source, count, timeout_s=600)
            seconds = np.array(e2e.latencies(engine, warm.source))
            e2e.forget(engine, warm)
    finally:
        e2e.forget(engine, stream)
        engine.dispose()
    p50, p95, p99 = np.percentile(seconds, [50, 95, 99])
    return {"offered_per_s": rate, "posts": count, "p50": p50, "p95": p95, "p99": p99}


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    texts = load_texts(args.posts)
    log = args.output.with_suffix(".worker.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    if args.latency_at is not None:
        latency = measure_latency(args, texts, args.latency_at, log)
        return {**_header(args, argv), "latency_s": latency}
    started = time.monotonic()
    found = measure_inference(args, texts)
    rates = {name: rate.per_s for name, rate in found["rates"].items()}
    batched = measure_worker(args, texts, args.batch_size, log)
    # Other load on the machine drifts: bare is measured again right after the worker ran,
    # and the end-to-end ratio uses the mean of the two.
    again = inference.bare_micro_batches(found["predictor"], texts, args.batch_size).per_s
    rates["bare_micro_batches"] = (rates["bare_micro_batches"] + again) / 2
    single = measure_worker(args, texts[: args.single_posts], 1, log)
    rates |= {"e2e_micro_batched": batched.per_s, "e2e_one_at_a_time": single.per_s}
    latency = measure_latency(args, texts, batched.per_s / 2, log)
    figures: dict[str, Any] = {
        **_header(args, argv),
        "members": found["members"],
        "precision": precision(found["predictor"]),
        "posts": args.posts,
        "posts_per_s": rates,
        "e2e_vs_bare_ratio": rates["e2e_micro_batched"] / rates["bare_micro_batches"],
        "e2e_vs_bare_sorted_ratio": rates["e2e_micro_batched"] / rates["bare"],
        "microbatch_speedup": rates["e2e_micro_batched"] / rates["e2e_one_at_a_time"],
        "latency_s": latency,
    }
    if "pipeline_default" in rates:
        figures |= pipeline_ratios(rates)
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def _header(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    return {
        "command": " ".join(["python -m benchmarks.bench_stream", *argv]),
        "machine": machine(),
        "bundle": str(args.bundle),
        "batch_max_wait_ms": args.batch_wait_ms,
        "batch_size": args.batch_size,
    }


def precision(predictor: EnsemblePredictor) -> str:
    """e.g. "minilm-l6 onnxruntime fp32, minilm-l3 onnxruntime int8"."""
    return ", ".join(f"{m.spec.name} {m.runtime} {m.precision}" for m in predictor.members)


def pipeline_ratios(rates: dict[str, float]) -> dict[str, Any]:
    """Default pipeline vs. the worker's bare path (ONNX Runtime on a CPU, fp16 on a GPU); batch-64
    pipeline vs. bare at the same precision, where length-sorting is bare's only edge."""
    same = rates["bare_same_texts_as_pipeline"]
    fastest = rates.get("bare_fast_same_texts_as_pipeline", same)
    return {
        "bare_vs_pipeline_ratio": fastest / rates["pipeline_default"],
        "bare_vs_pipeline_uses": "ONNX Runtime" if fastest is not same else "worker's precision",
        "bare_same_precision_vs_pipeline_ratio": same / rates["pipeline_default"],
        "bare_vs_pipeline_b64_ratio": same / rates["pipeline_batch_64"],
    }
