"""Throughput of the training data pipeline: a dataset's `__getitem__` in one process, and DataLoaders."""
import random
import time

import cv2
import numpy as np
import torch

from higherhrnet.data.build import seed_worker
from higherhrnet.data.compact_batch import CompactTrainSamples, batch_on_device, collate_compact
from higherhrnet.data.worker_memory import keep_freed_memory


def dataset_rate(dataset, num_samples, warmup=2, single_thread=True, seed=0, worker_memory=True):
    """Time `dataset[i]` for num_samples indices (cycling through the dataset) after `warmup` calls.

    single_thread: run OpenCV and torch on one thread, like one DataLoader worker (restored afterwards).
    worker_memory: keep freed memory for reuse first, as `seed_worker` does in every worker (this lasts for
    the rest of the process; see higherhrnet/data/worker_memory.py).
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


def data_loader_rate(dataset, num_samples, workers, warmup_batches=2, compact=False):
    """Samples per second delivered by a DataLoader with `workers` processes (batch 1, after warm-up).

    compact: samples travel as compact_batch.CompactBatch, as in training (dataset a KeypointTrainDataset);
    every batch is made ready on the CPU as `train_one_epoch` does (`batch_on_device`), so the rate includes
    the transfer from the workers and the expansion. Returns (total samples/s, samples/s per worker).
    """
    loader = torch.utils.data.DataLoader(
        CompactTrainSamples(dataset) if compact else dataset, batch_size=1, shuffle=False, num_workers=workers,
        worker_init_fn=seed_worker, collate_fn=collate_compact if compact else None,
        sampler=torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=num_samples + warmup_batches))
    iterator = iter(loader)
    for _ in range(warmup_batches):
        batch_on_device(next(iterator), torch.device("cpu"))
    start = time.perf_counter()
    count = 0
    for batch in iterator:
        batch_on_device(batch, torch.device("cpu"))
        count += 1
    rate = count / (time.perf_counter() - start)
    return rate, rate / max(1, workers)
