"""The benchmark of tools/benchmark.py: options -> every selected section, each measurement in a fresh process
-> one JSON-able results dict (machine facts, one entry per section, the targets of targets.json).

This process only orchestrates: it writes the shapes section's image folder, exports the ONNX model once
for the sections that time onnxruntime, starts the measurement processes (isolated.py) and collects
their results.
"""
import importlib.metadata
import importlib.util
import os
import platform
import sys
import tempfile
import time

import torch

from higherhrnet.engine.machine import bf16_is_native, cpu_flags, cpu_model, machine_summary

from .accuracy import run_accuracy_section
from .decoder import run_decoder_section
from .inputs import default_data_root, default_shared_dir, load_network, sample_image_paths
from .latency import run_latency_section
from .network import run_network_section
from .options import SECTIONS
from .pipeline_comparison import run_pipeline_section
from .shapes import run_shapes_section
from .targets import evaluate_targets
from .training import run_train_section


def bf16_timed(options):
    """Whether bfloat16 is timed: options.bf16, or by default only on a CPU with native bfloat16."""
    return bool(bf16_is_native()) if options.bf16 is None else bool(options.bf16)


def machine_facts(options):
    """The facts that decide the numbers: CPU model and flags, torch's CPU capability, threads, versions."""
    flags = cpu_flags()
    torch.set_num_threads(options.threads)  # so that machine_summary states the measurement processes' count
    onnxruntime = importlib.util.find_spec("onnxruntime")
    return {"cpu_model": cpu_model() or "unknown", "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "amx": bool(flags.get("amx_bf16") or flags.get("amx_tile")), "avx512_bf16": bool(flags.get("avx512_bf16")),
            "bf16_native": bf16_is_native(flags), "bf16_timed": bf16_timed(options), "cpu_flags": flags,
            "threads": options.threads, "cpus": os.cpu_count(), "summary": machine_summary(),
            "torch": torch.__version__,
            "onnxruntime": importlib.metadata.version("onnxruntime") if onnxruntime else None,
            "python": platform.python_version(), "machine": platform.machine(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "") or "default",
            "load_average": list(os.getloadavg()), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "repeats": options.repeats, "warmup": options.warmup,
            "statistic": "median after warm-up; every measurement in its own fresh process"}


def _progress(message):
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _onnx_model(options, folder):
    """(path of the network exported to ONNX, None) or (None, why ONNX is not measured)."""
    if "onnx" not in options.backends:
        return None, "not requested (--backends)"
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        return None, f"{' and '.join(missing)} not installed"
    from higherhrnet.export import export_onnx

    _progress("exporting the network to ONNX")
    cfg, network = load_network(options.cfg, options.opts, options.weights)
    size = int(cfg.DATASET.INPUT_SIZE)
    return export_onnx(network, os.path.join(folder, "network.onnx"), example_size_hw=(size, size)), None


def run_benchmark(options):
    """Run the selected sections; returns the results dict (layout: tools/benchmark.py's docstring)."""
    unknown = set(options.only) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s) {sorted(unknown)}; valid: {', '.join(SECTIONS)}")
    data_root = options.data_root or default_data_root()
    bf16 = bf16_timed(options)
    results = {"environment": machine_facts(options), "config": options.cfg, "sections": list(options.only)}
    image_paths = sample_image_paths(data_root, options.images, first_only=options.quick)
    with tempfile.TemporaryDirectory(prefix="benchmark_") as scratch:
        onnx_file = onnx_missing = None
        if "shapes" in options.only or "latency" in options.only:
            onnx_file, onnx_missing = _onnx_model(options, scratch)
        for section in SECTIONS:
            if section not in options.only:
                continue
            _progress(f"section {section}")
            if section == "decoder":
                results[section] = run_decoder_section(options, image_paths, data_root)
            elif section == "network":
                results[section] = run_network_section(options, image_paths[0], data_root, bf16, _progress)
            elif section == "shapes":
                results[section] = run_shapes_section(options, image_paths, bf16, onnx_file, onnx_missing, scratch,
                                                      _progress)
            elif section == "latency":
                results[section] = run_latency_section(options, image_paths[0], onnx_file, onnx_missing, _progress)
            elif section == "train":
                results[section] = run_train_section(options, data_root, bf16, _progress)
            elif section == "pipeline":
                results[section] = run_pipeline_section(options, data_root, _progress)
            elif section == "accuracy":
                results[section] = run_accuracy_section(options, default_shared_dir(), bf16, _progress)
    results["targets"] = evaluate_targets(results)
    results["environment"]["load_average_end"] = list(os.getloadavg())
    return results
