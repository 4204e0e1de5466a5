"""One set-up for every run (training, evaluation): config, process group, device, logger, cudnn, seed.

    run = setup("experiments/...yaml", ["TEST.FLIP_TEST", "False"], phase="valid")
    run.cfg, run.device, run.place.rank, run.logger, run.final_output_dir, run.tb_log_dir

The order matters on CUDA: the process's GPU is made current before the process group exists
(engine/distributed.py), and the cudnn switches are set before the first convolution.
"""
import os
import pprint
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import load_config
from .distributed import ProcessPlace, init_distributed
from .machine import machine_summary
from .output_dirs import create_logger, file_logger


@dataclass
class RunContext:
    """What `setup` made: the frozen config, where this process runs, its logger and the run's folders."""
    cfg: object
    cfg_file: str
    place: ProcessPlace
    logger: object
    final_output_dir: Path
    tb_log_dir: Path

    @property
    def device(self):
        return self.place.device

    @property
    def is_main(self):
        return self.place.is_main


def deterministic_mode(cfg, phase):
    """True when the run asks for reproducible CUDA numerics: TRAIN.SEED >= 0 in training, or CUDNN.DETERMINISTIC."""
    return bool(cfg.CUDNN.DETERMINISTIC) or (phase == "train" and cfg.TRAIN.SEED >= 0)


def configure_cuda_numerics(cfg, device, deterministic):
    """cudnn switches of the config; in deterministic mode, deterministic kernels everywhere.

    Deterministic mode turns cudnn autotuning off (CUDNN.BENCHMARK of the YAMLs is True), cudnn's
    nondeterministic algorithms off, and asks torch for deterministic implementations (a warning, not an
    error, names an operation that has none). The cuBLAS workspace setting it needs is set here unless the
    environment already sets it. Nothing changes on CPU, where the kernels are deterministic already.
    Returns a one-line description for the log, or None on CPU.
    """
    if device.type != "cuda":
        return None
    torch.backends.cudnn.enabled = bool(cfg.CUDNN.ENABLED)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
        return "deterministic mode: cudnn.benchmark False, cudnn.deterministic True, deterministic algorithms"
    torch.backends.cudnn.benchmark = bool(cfg.CUDNN.BENCHMARK)
    torch.backends.cudnn.deterministic = bool(cfg.CUDNN.DETERMINISTIC)
    return (f"cudnn.benchmark {torch.backends.cudnn.benchmark}, cudnn.deterministic "
            f"{torch.backends.cudnn.deterministic} (not bit-reproducible; TRAIN.SEED >= 0 makes it so)")


def setup(cfg_file, opts=(), phase="train", args=None):
    """Config -> process group and device -> run folders and logger -> cudnn -> seed. Returns a RunContext.

    phase: 'train' or 'valid' (names the log file; training seeds with TRAIN.SEED + rank when >= 0).
    args: the command-line namespace, logged as given.
    """
    cfg = load_config(cfg_file, opts)
    place = init_distributed(cfg.DEVICE)
    logger, final_output_dir, tb_log_dir = create_logger(cfg, cfg_file, phase, place.rank)
    logger.info(machine_summary())  # the last bits of the results depend on these (docs/reproducibility.md)
    record = file_logger()  # the log file alone: the terminal gets the one-line summary
    record.info("command line: " + pprint.pformat(vars(args) if args is not None else
                                                  {"cfg": cfg_file, "opts": list(opts)}))
    record.info("full config:\n" + cfg.dump())
    logger.info(config_summary(cfg, cfg_file, opts, log_file_of(record)))
    logger.info(f"device {place.device}, rank {place.rank}/{place.world_size}")
    cuda_numerics = configure_cuda_numerics(cfg, place.device, deterministic_mode(cfg, phase))
    if cuda_numerics:
        logger.info(cuda_numerics)
    if phase == "train" and cfg.TRAIN.SEED >= 0:
        seed_everything(cfg.TRAIN.SEED + place.rank)
    return RunContext(cfg, cfg_file, place, logger, final_output_dir, tb_log_dir)


def log_file_of(logger):
    """The file a logger writes to (its first FileHandler's path), or None."""
    return next((handler.baseFilename for handler in logger.handlers if hasattr(handler, "baseFilename")), None)


def config_summary(cfg, cfg_file, opts, log_file=None):
    """One line for the terminal: the YAML, its overrides, the model and data, where the full config went."""
    opts = [str(item) for item in opts or ()]
    overrides = " ".join(f"{key}={value}" for key, value in zip(opts[::2], opts[1::2]))
    joints = f"{cfg.DATASET.NUM_JOINTS} joints" + (" with centre" if cfg.DATASET.WITH_CENTER else "")
    where = f"; full config in {log_file}" if log_file else ""
    return (f"config {cfg_file}" + (f" with {overrides}" if overrides else "") +
            f": {cfg.MODEL.NAME}, {cfg.DATASET.DATASET} ({joints}), input {cfg.DATASET.INPUT_SIZE}{where}")


def seed_everything(seed):
    """Seed Python's `random`, NumPy's global RNG and torch (CPU and every CUDA device)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
