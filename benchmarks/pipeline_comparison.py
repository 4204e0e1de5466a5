"""Section `pipeline`: samples/s of one data worker, the package's pipeline against a straightforward loop one.

The loop pipeline is tests/data/data_loop_reference.py (per-person and per-joint Python loops, as the
official code; the data tests check the package against it). Both run single-threaded (one DataLoader worker,
WORKERS 0 semantics) on the data root's val2017 images with the config's augmentation, with glibc's default
allocator settings and with freed memory kept for reuse as the package's DataLoader workers do
(higherhrnet/data/worker_memory.py). Then both through a DataLoader with one worker process, batches made
ready in the main process as the training loop does: the package's compact batches (as in training)
against the loop pipeline's dense batches with the default collate (the official transfer); both workers
keep freed memory (seed_worker), which only helps the loop pipeline.

Every measurement runs in a fresh process (glibc's allocator state depends on the process's history); the
settings alternate over `rounds` rounds and the best rate of each is reported.
"""
from higherhrnet.data.build import build_train_dataset
from tests.data.data_loop_reference import LoopTrainDataset

from .data_pipeline import data_loader_rate, dataset_rate
from .isolated import run_in_fresh_process
from .training import training_config

PIPELINES = ("package", "loop")


def measure_pipeline_rate(cfg_file, opts, data_root, pipeline, samples, worker_memory=True, loader=False):
    """Samples/s of one pipeline ('package' or 'loop'): `dataset[i]` in this process, or with loader=True
    through a DataLoader with one worker (compact batches for the package, dense for the loop pipeline)."""
    cfg = training_config(cfg_file, opts, data_root, 1)
    dataset = build_train_dataset(cfg)
    if pipeline == "loop":
        dataset = LoopTrainDataset(dataset, max_rotation=cfg.DATASET.MAX_ROTATION, min_scale=cfg.DATASET.MIN_SCALE,
                                   max_scale=cfg.DATASET.MAX_SCALE, max_translate=cfg.DATASET.MAX_TRANSLATE,
                                   flip_prob=cfg.DATASET.FLIP)
    if loader:
        rate = data_loader_rate(dataset, samples, workers=1, compact=pipeline == "package")[0]
    else:
        rate = dataset_rate(dataset, samples, worker_memory=worker_memory)["samples_per_second"]
    return {"samples_per_second": rate}


def run_pipeline_section(options, data_root, progress):
    """Best samples/s over `options.rounds` rounds of each setting, each measurement in a fresh process.

    Returns {'per_worker': {pipeline: {'default_allocator': rate, 'freed_memory_kept': rate}},
    'loader_1_worker': {'package_compact': rate, 'loop_dense': rate}, 'samples', 'rounds'}.
    """
    common = dict(cfg_file=options.cfg, opts=list(options.opts), data_root=data_root, samples=options.data_samples)
    per_worker = {pipeline: {"default_allocator": 0.0, "freed_memory_kept": 0.0} for pipeline in PIPELINES}
    loaders = {"package_compact": 0.0, "loop_dense": 0.0}
    for round_index in range(options.rounds):
        progress(f"pipeline: round {round_index + 1} of {options.rounds}")
        for kept in (False, True):
            for pipeline in PIPELINES:
                rate = run_in_fresh_process("pipeline_rate", dict(common, pipeline=pipeline, worker_memory=kept),
                                            options.threads)["samples_per_second"]
                key = "freed_memory_kept" if kept else "default_allocator"
                per_worker[pipeline][key] = max(per_worker[pipeline][key], rate)
        for pipeline, key in (("package", "package_compact"), ("loop", "loop_dense")):
            rate = run_in_fresh_process("pipeline_rate", dict(common, pipeline=pipeline, loader=True),
                                        options.threads)["samples_per_second"]
            loaders[key] = max(loaders[key], rate)
    return {"per_worker": per_worker, "loader_1_worker": loaders, "samples": options.data_samples,
            "rounds": options.rounds}
