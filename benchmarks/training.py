"""Section `train`: the data pipeline per worker, the loss, and whole training steps (fp32 / bf16).

Each measurement runs in its own fresh process. A training step is timed through the real
`engine.training.train_one_epoch` (forward under autocast when enabled, losses, backward, optimizer step).
The loader is wrapped to note the time of every batch it hands out; the differences are step times. "With
data" uses the real DataLoader with WORKERS 0 (samples are made in the training process, between steps),
"without data" replays batches made beforehand. The loss is timed beside the official-style loss of
tests/loss_reference.py (the tests check that both give the same values).

The baseline "official-style" step is the official training loop on the same network and batches: dense
batches (as the official workers deliver them), the official-style losses, the per-stage sum of their batch
means with a `.item()` per logged term, `optimizer.zero_grad()`, backward, step. Both paths start with several
untimed steps (`train_warmup`): the first steps of a process fault in gigabytes of fresh pages (about a
million minor page faults in the first W32-512 step) and take up to twice as long; the minor page faults of
every timed step are reported beside its time, so a run can show that the transient is over.
"""
import resource
import statistics
import time

import numpy as np
import torch

from higherhrnet.config import load_config
from higherhrnet.data.build import build_train_dataset, build_train_loader
from higherhrnet.data.compact_batch import batch_on_device
from higherhrnet.engine.training import MixedPrecision, build_optimizer, train_one_epoch
from higherhrnet.losses import MultiLossFactory, total_loss
from higherhrnet.models import build_model
from tests.loss_reference import reference_loss_factory

from .data_pipeline import data_loader_rate, dataset_rate
from .isolated import run_in_fresh_process
from .timing import median_time_ms


OFFICIAL_STEP = "official_style_fp32_without_data"


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

    Times the package's loss and the official-style one (tests/loss_reference.py, fewer repeats: it is slow).
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


def _minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class _StepClock:
    """Iterable over `batches` that notes perf_counter() and the minor page faults at each hand-out."""

    def __init__(self, batches, length):
        self.batches, self.length, self.stamps, self.faults = batches, length, [], []

    def __len__(self):
        return self.length

    def __iter__(self):
        for batch in self.batches:
            self.stamp()
            yield batch

    def stamp(self):
        self.stamps.append(time.perf_counter())
        self.faults.append(_minor_faults())

    def summary(self, skip, batch_size):
        """{'step_ms': median, 'samples_per_second', 'steps': step ms, 'minor_faults': per timed step}."""
        steps = [float(step) for step in np.diff(self.stamps)[skip:] * 1000.0]
        step_ms = statistics.median(steps)
        return {"step_ms": step_ms, "samples_per_second": 1000.0 * batch_size / step_ms, "steps": steps,
                "minor_faults": [int(count) for count in np.diff(self.faults)[skip:]]}


def time_training_steps(cfg, loader, repeats, warmup, bf16, with_data, device=torch.device("cpu"), seed=0):
    """Median milliseconds of one training step (`train_one_epoch`), batch = the loader's batch.

    bf16: bfloat16 autocast (MixedPrecision enabled on CPU). with_data: batches come from `loader` while
    training (else the batches are drawn first and replayed).
    Returns {'step_ms': median, 'samples_per_second': batch / step, 'steps': list of step ms,
    'minor_faults': minor page faults of each timed step}.
    """
    torch.manual_seed(seed)
    model = build_model(cfg, is_train=True).to(device)
    optimizer = build_optimizer(cfg, model)
    precision = MixedPrecision(bf16, device)
    loss_fn = MultiLossFactory.from_config(cfg)
    num_steps = warmup + repeats
    batches = _cycle(loader, num_steps)
    if not with_data:
        batches = list(batches)
    clock = _StepClock(batches, num_steps)
    train_one_epoch(model, clock, loss_fn, optimizer, precision, 0, device, show_progress=False,
                    print_freq=10 ** 9, max_iterations=num_steps)
    # A step runs from its batch's hand-out to the next one; the last step ends when the epoch returns
    # (train_one_epoch stops after its last iteration without drawing another batch): num_steps + 1 stamps.
    clock.stamp()
    return clock.summary(warmup, loader.batch_size or 1)


def official_style_step(model, optimizer, loss_fn, batch):
    """One official training step on a dense batch (images, heatmaps, masks, joints); returns the loss.

    The total is the official per-stage sum (`losses.total_loss`); each term reaches the host by `.item()`,
    as the official loss meters read it every iteration.
    """
    images, heatmaps, masks, joints = batch
    outputs = model(images)
    loss, components = total_loss(*loss_fn(outputs, heatmaps, masks, joints))
    for value in components.values():
        value.item()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def time_official_style_steps(cfg, loader, repeats, warmup, device=torch.device("cpu"), seed=0):
    """Median milliseconds of the official training step in fp32 (module doc) on `loader`'s batches.

    The batches are drawn and expanded to dense tensors first, as official DataLoader workers hand them
    over. Returns the same dict as `time_training_steps`.
    """
    torch.manual_seed(seed)
    model = build_model(cfg, is_train=True).to(device)
    model.train()
    optimizer = build_optimizer(cfg, model)
    loss_fn = reference_loss_factory(cfg)
    num_steps = warmup + repeats
    dense = [batch_on_device(batch, device) for batch in _cycle(loader, num_steps)]
    clock = _StepClock(dense, num_steps)
    for batch in clock:
        official_style_step(model, optimizer, loss_fn, batch)
    clock.stamp()
    return clock.summary(warmup, loader.batch_size or 1)


def training_config(cfg_file, opts, data_root, batch_size):
    """The config of the timed training: the data root's val2017 split as training set, WORKERS 0."""
    return load_config(cfg_file, list(opts) + ["DATASET.ROOT", data_root, "DATASET.TRAIN", "val2017", "WORKERS", 0,
                                               "PIN_MEMORY", False, "TRAIN.IMAGES_PER_GPU", batch_size])


def measure_data_rates(cfg_file, opts, data_root, samples):
    """Samples/s of `dataset[i]` in this process (WORKERS 0), and of DataLoaders with 1 and 2 workers
    (compact batches as in training; 1 worker also with dense batches, the official transfer)."""
    dataset = build_train_dataset(training_config(cfg_file, opts, data_root, 1))
    rates = {"workers_0_samples_per_s": dataset_rate(dataset, samples)["samples_per_second"]}
    for workers in (1, 2):
        total, per_worker = data_loader_rate(dataset, samples, workers=workers, compact=True)
        rates.update({f"workers_{workers}_samples_per_s": total, f"workers_{workers}_per_worker": per_worker})
    rates["workers_1_dense_samples_per_s"] = data_loader_rate(dataset, samples, workers=1, compact=False)[0]
    return rates


def measure_loss(cfg_file, opts, repeats, warmup):
    """`time_loss` for 30 persons, batch 2, on the config's output sizes."""
    return time_loss(load_config(cfg_file, list(opts)), repeats, warmup, batch_size=2, num_persons=30)


def measure_training_step(cfg_file, opts, data_root, batch_size, steps, warmup, bf16, with_data,
                          official_style=False):
    """`time_training_steps` for one setting, with the real training DataLoader (compact batches), or
    `time_official_style_steps` (fp32) on the same batches when official_style."""
    cfg = training_config(cfg_file, opts, data_root, batch_size)
    loader = build_train_loader(cfg, build_train_dataset(cfg), rank=0, world_size=1, compact=True)
    if official_style:
        return time_official_style_steps(cfg, loader, steps, warmup)
    return time_training_steps(cfg, loader, steps, warmup, bf16=bf16, with_data=with_data)


def run_train_section(options, data_root, bf16, progress):
    """Data rates, loss and the training steps (fp32, and bf16 when timed), each in a fresh process."""
    common = dict(cfg_file=options.cfg, opts=list(options.opts))
    progress("train: data pipeline")
    results = {"batch_size": options.train_batch,
               "data_pipeline": run_in_fresh_process("data_rates", dict(common, data_root=data_root,
                                                                        samples=options.data_samples),
                                                     options.threads)}
    progress("train: loss")
    results["loss"] = run_in_fresh_process("loss", dict(common, repeats=max(options.repeats, 5),
                                                        warmup=options.warmup or 1), options.threads)
    results["step"] = {}
    settings = [(f"{precision}_{'with' if with_data else 'without'}_data", precision == "bf16", with_data, False)
                for precision in (("fp32", "bf16") if bf16 else ("fp32",)) for with_data in (True, False)]
    settings.append((OFFICIAL_STEP, False, False, True))
    for name, step_bf16, with_data, official_style in settings:
        progress(f"train: step {name}")
        results["step"][name] = run_in_fresh_process("training_step", dict(
            common, data_root=data_root, batch_size=options.train_batch, steps=options.train_steps,
            warmup=options.train_warmup, bf16=step_bf16, with_data=with_data, official_style=official_style),
            options.threads)
    return results
