"""Throughput of a training dataset's `__getitem__` (the per-worker cost of the data pipeline)."""
import random
import time

import cv2
import numpy as np
import torch

from .worker_memory import keep_freed_memory


def benchmark_pipeline(dataset, num_samples, warmup=2, single_thread=True, seed=0, worker_memory=True):
    """Time `dataset[i]` for num_samples indices (cycling through the dataset) after `warmup` calls.

    single_thread: run OpenCV and torch on one thread, like one DataLoader worker (restored afterwards).
    worker_memory: keep freed memory for reuse first, as `seed_worker` does in every worker (this lasts for
    the rest of the process; see data/worker_memory.py).
    Seeds NumPy's and Python's global RNGs with `seed`. Returns a dict with samples_per_second,
    seconds_per_sample and num_samples.
    """
    if worker_memory:
        keep_freed_memory()
    cv2_threads, torch_threads = cv2.getNumThreads(), torch.get_num_threads()
    if single_thread:
        cv2.setNumThreads(1)
        torch.set_num_threads(1)
    try:
        np.random.seed(seed)
        random.seed(seed)
        for index in range(warmup):
            dataset[index % len(dataset)]
        start = time.perf_counter()
        for index in range(num_samples):
            dataset[index % len(dataset)]
        elapsed = time.perf_counter() - start
    finally:
        cv2.setNumThreads(cv2_threads)
        torch.set_num_threads(torch_threads)
    return {"samples_per_second": num_samples / elapsed, "seconds_per_sample": elapsed / num_samples,
            "num_samples": num_samples}
