"""Command line of the training: `higherhrnet-train` (also tools/dist_train.py, the official command line).

Launch modes (algorithm.md §8.1, M3):
  torchrun --nproc_per_node=N [--nnodes ... --node_rank ... --master_addr ...] tools/dist_train.py --cfg ...
      one process per device, env:// rendezvous (NCCL on CUDA, Gloo on CPU);
  python tools/dist_train.py --cfg ...   (or higherhrnet-train --cfg ...)
      the official behaviour: one process per visible GPU (spawned here, with a local rendezvous), or one
      CPU process where there is no GPU.
Only rank 0 logs to the console, writes TensorBoard and saves checkpoints. An error of the input (a config
key, a missing or unreadable file, an output folder in use by another run, a diverged loss) ends the run
with one line `error: <file/key>: <what>` and exit status 1; a bug keeps its traceback.
"""
import argparse
import os
import socket
import sys

import torch
import torch.multiprocessing as mp


def _positive_seconds(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train HigherHRNet (official command line: --cfg plus trailing KEY VALUE overrides).")
    parser.add_argument("--cfg", required=True, help="experiment YAML, e.g. experiments/coco/higher_hrnet/"
                        "w32_512_adam_lr1e-3.yaml")
    parser.add_argument("--max-iterations", type=int, default=None,
                        help="stop every epoch after this many iterations (smoke tests, benchmarks)")
    parser.add_argument("--time-budget", type=_positive_seconds, default=None, metavar="SECONDS",
                        help="stop at the end of the iteration where SECONDS of wall time since the start of "
                             "training are spent (set-up included); checkpoint and final_state are saved as at a "
                             "normal end, the cut epoch counting as finished")
    parser.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bar")
    parser.add_argument("opts", nargs=argparse.REMAINDER,
                        help="config overrides as KEY VALUE pairs, e.g. TRAIN.END_EPOCH 10 FP16.ENABLED True")
    return parser.parse_args(argv)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawned_worker(local_rank, world_size, port, argv):
    """One process of mp.spawn: the torchrun environment of rank `local_rank`, then the training."""
    os.environ.update({"RANK": str(local_rank), "LOCAL_RANK": str(local_rank), "WORLD_SIZE": str(world_size),
                       "LOCAL_WORLD_SIZE": str(world_size),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    _train_reporting_errors(parse_args(argv))


def _train_reporting_errors(args):
    from ..errors import REPORTED_ERRORS, one_line
    from .training import run_training
    try:
        run_training(args)
    except REPORTED_ERRORS as error:
        sys.exit(f"error: {one_line(error)}")


def main(argv=None):
    """Train as the arguments say (default sys.argv[1:]), spawning one process per GPU where that is official."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    from ..config import ConfigError, load_config
    from .distributed import launched_by_torchrun
    try:
        cfg = load_config(args.cfg, args.opts)
    except (ConfigError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
    num_gpus = torch.cuda.device_count() if cfg.DEVICE in ("", "cuda") else 0
    if not launched_by_torchrun() and cfg.MULTIPROCESSING_DISTRIBUTED and num_gpus > 1:
        mp.spawn(_spawned_worker, nprocs=num_gpus, args=(num_gpus, _free_port(), argv))
        return
    _train_reporting_errors(args)
