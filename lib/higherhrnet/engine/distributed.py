"""Process-group helpers for torchrun (env://) launches; everything degrades to one process.

torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT. The backend is NCCL when each
process drives a CUDA device and Gloo on CPU. Without those variables nothing is initialised and every
helper answers as rank 0 of a world of 1.
"""
import os

import torch
import torch.distributed as dist


def launched_by_torchrun():
    """True when the environment carries a torchrun rendezvous (RANK and WORLD_SIZE set)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed(device):
    """Join the env:// process group if launched by torchrun. Returns (rank, local_rank, world_size)."""
    if not launched_by_torchrun():
        return 0, 0, 1
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ["WORLD_SIZE"])
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
    return rank, local_rank, world_size


def is_distributed():
    return dist.is_available() and dist.is_initialized()


def get_rank():
    return dist.get_rank() if is_distributed() else 0


def get_world_size():
    return dist.get_world_size() if is_distributed() else 1


def is_main_process():
    return get_rank() == 0


def barrier():
    if is_distributed():
        dist.barrier()


def all_gather_objects(obj):
    """Gather one picklable object from every rank; returns the list in rank order (a 1-list alone)."""
    if not is_distributed():
        return [obj]
    gathered = [None] * get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def cleanup_distributed():
    if is_distributed():
        dist.destroy_process_group()
