"""Section `latency`: per-image latency of `Predictor.predict`, torch backend against onnx backend (CPU).

Without --weights the network keeps its seeded random initialisation: the network time is that of the
trained model, but the decoder then sees meaningless maps (usually the full 30 candidates per joint), so its
share is only indicative. Each backend runs in its own fresh process (a busy-waiting thread pool of one
runtime would otherwise slow the other down): `warmup` predictions (at least one, on the same image), then
`repeats` timed ones; the report gives the median wall-clock time of a whole `Predictor.predict` call (image
array in, poses out) and the median of its network part ('forward', both flip passes).

On a machine shared with other jobs, busy-waiting thread pools slow down badly; there, start with
`OMP_WAIT_POLICY=PASSIVE` in the environment (torch's OpenMP pool reads it at start-up; the measurement
processes inherit it) and pass --passive (turns off onnxruntime's spinning), so that both runtimes wait politely.
"""
import os
import statistics
import time

import torch

from higherhrnet.config import load_config
from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.engine.inference import prepare
from higherhrnet.predictor import Predictor

from .inputs import config_overrides, load_network
from .isolated import run_in_fresh_process

BACKENDS = ("torch", "onnx")


def time_predictor(backend, cfg_file, opts, weights, image_path, repeats, warmup, flush_denormal=True,
                   onnx_spinning=True, onnx_file=None):
    """{'median_ms', 'forward_median_ms', 'runs_ms', 'input_size' 'WxH', 'people'} of one backend on one image.

    flush_denormal: treat denormal floats as zero in both runtimes (random weights produce many, and they
    slow CPUs down by large factors). onnx_spinning: onnxruntime's intra-op threads busy-wait between tasks
    (its default). onnx_file: the exported network (backend 'onnx').
    """
    torch.set_flush_denormal(bool(flush_denormal))  # torch's default is off; this process ends after the task
    if backend == "torch":
        cfg, network = load_network(cfg_file, opts, weights)
        predictor = Predictor(cfg, model=network)
    else:
        cfg = load_config(cfg_file, config_overrides(opts, weights))
        config = {"session.set_denormal_as_zero": "1" if flush_denormal else "0",
                  "session.intra_op.allow_spinning": "1" if onnx_spinning else "0"}
        predictor = Predictor(cfg, onnx_file, backend="onnx", onnx_threads=torch.get_num_threads(),
                              onnx_session_config=config)
    image = read_image_rgb(image_path)
    for _ in range(max(1, warmup)):
        predictor.predict(image, color="rgb")
    totals, forwards = [], []
    for _ in range(max(1, repeats)):
        timings = {}
        start = time.perf_counter()
        people = len(predictor.predict(image, color="rgb", timings=timings))
        totals.append((time.perf_counter() - start) * 1000.0)
        forwards.append(timings["forward"] * 1000.0)
    input_shape = prepare(image, predictor.settings).inputs[0][1].shape
    return {"median_ms": statistics.median(totals), "forward_median_ms": statistics.median(forwards),
            "runs_ms": totals, "input_size": f"{input_shape[3]}x{input_shape[2]}", "people": people}


def run_latency_section(options, image_path, onnx_file, onnx_missing, progress):
    """Both backends on one image, each in a fresh process. onnx_file None: ONNX not measured (onnx_missing)."""
    results = {"image": os.path.basename(image_path), "flush_denormal": options.flush_denormal,
               "onnx_spinning": options.onnx_spinning,
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "") or "default",
               "weights": "loaded" if options.weights else "random", "backends": {}, "skipped": []}
    for backend in BACKENDS:
        if backend not in options.backends:
            continue
        if backend == "onnx" and onnx_file is None:
            results["skipped"].append(f"onnx: {onnx_missing}")
            continue
        progress(f"latency: {backend}")
        results["backends"][backend] = run_in_fresh_process("predictor_latency", dict(
            backend=backend, cfg_file=options.cfg, opts=list(options.opts), weights=options.weights,
            image_path=image_path, repeats=options.repeats, warmup=options.warmup,
            flush_denormal=options.flush_denormal, onnx_spinning=options.onnx_spinning, onnx_file=onnx_file),
            options.threads)
    return results
