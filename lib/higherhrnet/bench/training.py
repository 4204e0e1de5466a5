"""Timing of training: the data pipeline per worker, the loss, and whole training steps (fp32 / bf16).

A training step is timed through the real `engine.training.train_one_epoch` (forward under autocast when
enabled, losses, backward, optimizer step). The loader is wrapped to note the time of every batch it hands
out; the differences are step times. "With data" uses the real DataLoader with WORKERS 0 (samples are
made in the training process, between steps), "without data" replays batches made beforehand.
"""
import statistics
import time

import numpy as np
import torch

from ..codec.benchmark import median_time_ms
from ..data.benchmark import benchmark_pipeline
from ..data.build import seed_worker
from ..data.compact_batch import CompactTrainSamples, batch_on_device, collate_compact
from ..engine.training import MixedPrecision, build_optimizer, train_one_epoch
from ..losses import MultiLossFactory, total_loss
from .loss_reference import reference_loss_factory
from ..models import build_model


def data_pipeline_rate(dataset, num_samples, warmup=2):
    """Samples per second of `dataset[i]` in one single-threaded process (one worker, or WORKERS 0)."""
    return benchmark_pipeline(dataset, num_samples, warmup=warmup)["samples_per_second"]


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


def _loss_inputs(num_joints, output_sizes, batch_size, num_persons, seed=0):
    """Random stage outputs (with grad), heatmap targets, masks and tag targets of every person's joints."""
    generator = torch.Generator().manual_seed(seed)
    outputs, heatmaps, masks, joints = [], [], [], []
    for stage, size in enumerate(output_sizes):
        channels = 2 * num_joints if stage == 0 else num_joints
        outputs.append(torch.randn(batch_size, channels, size, size, generator=generator).requires_grad_())
        heatmaps.append(torch.rand(batch_size, num_joints, size, size, generator=generator))
        masks.append(torch.ones(batch_size, size, size))
        pixel = torch.randint(0, size * size, (batch_size, num_persons, num_joints), generator=generator)
        index = pixel + torch.arange(num_joints)[None, None, :] * size * size
        joints.append(torch.stack((index, torch.ones_like(index)), dim=3))
    return outputs, heatmaps, masks, joints


def time_loss(cfg, repeats, warmup, batch_size=2, num_persons=30):
    """Milliseconds of the training loss (all stages, factors, total) for `num_persons` x J tag slots.

    Times the package's loss and the official-style one (bench/loss_reference.py, fewer repeats: it is slow).
    Returns {'forward': ms, 'forward_backward': ms, 'reference_forward': ms, 'reference_forward_backward': ms}.
    """
    outputs, heatmaps, masks, joints = _loss_inputs(cfg.MODEL.NUM_JOINTS, list(cfg.DATASET.OUTPUT_SIZE),
                                                    batch_size, num_persons)
    timings = {}
    for prefix, loss_fn, runs in (("", MultiLossFactory.from_config(cfg), repeats),
                                  ("reference_", reference_loss_factory(cfg), max(3, repeats // 5))):
        def forward():
            return total_loss(*loss_fn(outputs, heatmaps, masks, joints))[0]

        def forward_backward():
            forward().backward()

        timings[prefix + "forward"] = median_time_ms(forward, runs, warmup)[0]
        timings[prefix + "forward_backward"] = median_time_ms(forward_backward, runs, warmup)[0]
    return timings


def _cycle(loader, count):
    """`count` batches of `loader`, starting a new pass over it as often as needed."""
    produced = 0
    while produced < count:
        for batch in loader:
            yield batch
            produced += 1
            if produced == count:
                return


class _StepClock:
    """Iterable over `batches` that notes perf_counter() each time a batch is handed out."""

    def __init__(self, batches, length):
        self.batches, self.length, self.stamps = batches, length, []

    def __len__(self):
        return self.length

    def __iter__(self):
        for batch in self.batches:
            self.stamps.append(time.perf_counter())
            yield batch

    def step_times_ms(self, skip):
        steps = np.diff(self.stamps)[skip:] * 1000.0
        return [float(step) for step in steps]


def time_training_steps(cfg, loader, repeats, warmup, bf16, with_data, device=torch.device("cpu"), seed=0):
    """Median milliseconds of one training step (`train_one_epoch`), batch = the loader's batch.

    bf16: bfloat16 autocast (MixedPrecision enabled on CPU). with_data: batches come from `loader` while
    training (else the batches are drawn first and replayed).
    Returns {'step_ms': median, 'samples_per_second': batch / step, 'steps': list of step ms}.
    """
    torch.manual_seed(seed)
    model = build_model(cfg, is_train=True).to(device)
    optimizer = build_optimizer(cfg, model)
    precision = MixedPrecision(bf16, device)
    loss_fn = MultiLossFactory.from_config(cfg)
    num_steps = warmup + repeats
    # train_one_epoch draws one batch more than it trains on (then stops): num_steps + 1 stamps.
    batches = _cycle(loader, num_steps + 1)
    if not with_data:
        batches = list(batches)
    clock = _StepClock(batches, num_steps)
    train_one_epoch(model, clock, loss_fn, optimizer, precision, 0, device, show_progress=False,
                    print_freq=10 ** 9, max_iterations=num_steps)
    steps = clock.step_times_ms(skip=warmup)
    step_ms = statistics.median(steps)
    batch_size = loader.batch_size or 1
    return {"step_ms": step_ms, "samples_per_second": 1000.0 * batch_size / step_ms, "steps": steps}
