"""What a fresh measurement process can run (tools/benchmark.py --child TASK_FILE): task name -> function.

The task file (written by `isolated.run_in_fresh_process`) holds the task name, its keyword arguments, the
thread count and where to write the result (a JSON dict, with 'process' facts added here: pid, threads,
CPU capability, and the 1-minute load average at the task's start and end, which includes the task's own
threads: a load well above the thread count means other processes competed with the measurement).
"""
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from . import accuracy, decoder, latency, network, pipeline_comparison, shapes, training

TASKS = {
    "decoder": decoder.measure_decoder,
    "network_variant": network.time_variant,
    "end_to_end": network.time_end_to_end,
    "first_calls": shapes.time_first_calls,
    "predictor_folder": shapes.time_predictor_folder,
    "predictor_latency": latency.time_predictor,
    "data_rates": training.measure_data_rates,
    "loss": training.measure_loss,
    "training_step": training.measure_training_step,
    "pipeline_rate": pipeline_comparison.measure_pipeline_rate,
    "accuracy": accuracy.measure_ap_effects,
}


def _plain(value):
    """JSON for NumPy scalars and arrays in a result."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"not JSON serialisable in a benchmark result: {type(value).__name__}")


def run_task_file(task_file):
    """Run the task of `task_file` in this process and write its result file."""
    spec = json.loads(Path(task_file).read_text())
    if spec["task"] not in TASKS:
        raise SystemExit(f"error: unknown benchmark task {spec['task']!r}; valid: {', '.join(TASKS)}")
    torch.set_num_threads(spec["threads"])
    started_at, load_at_start = time.time(), os.getloadavg()[0]
    result = TASKS[spec["task"]](**spec["arguments"])
    result["process"] = {"pid": os.getpid(), "torch_threads": torch.get_num_threads(),
                         "cpu_capability": torch.backends.cpu.get_cpu_capability(), "task_started_at": started_at,
                         "load_average": [load_at_start, os.getloadavg()[0]]}
    Path(spec["result_file"]).write_text(json.dumps(result, default=_plain))
