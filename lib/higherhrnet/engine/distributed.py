"""Process-group helpers for torchrun (env://) launches; everything degrades to one process.

torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT. Each process
drives the CUDA device of its local rank, selected with `torch.cuda.set_device` before the process group
is made, and the backend is NCCL on CUDA and Gloo on CPU. Without those variables nothing is initialised
and every helper answers as rank 0 of a world of 1.
"""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..models import DeviceError, resolve_device


def launched_by_torchrun():
    """True when the environment carries a torchrun rendezvous (RANK and WORLD_SIZE set)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


@dataclass(frozen=True)
class ProcessPlace:
    """Where this process runs: its device, global rank, rank on its node, and the number of processes."""
    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self):
        return self.rank == 0


def process_device(device_setting, local_rank=0, local_world_size=1):
    """The torch.device of this process for a DEVICE setting ('' / 'cpu' / 'cuda' / 'cuda:N' / 'mps').

    '' and 'cuda' give cuda:<local_rank> when CUDA exists. An explicit 'cuda:N' is kept for a single process
    per node, and refused when several processes share the node (all of them would use GPU N).
    """
    device = resolve_device(device_setting)
    if device.type != "cuda":
        return device
    if device.index is None:
        return torch.device("cuda", local_rank)
    if local_world_size > 1:
        raise DeviceError(f"DEVICE {device_setting!r} with {local_world_size} processes per node: every process "
                          "would use that one GPU; set DEVICE '' or 'cuda' (process i then uses cuda:LOCAL_RANK)")
    return device


def init_distributed(device_setting):
    """Pick this process's device and join the env:// process group when launched by torchrun.

    On CUDA the device is made current (`torch.cuda.set_device`) before the process group exists, and
    passed to it as `device_id`, so NCCL and every collective use this process's own GPU.
    Returns a ProcessPlace.
    """
    if not launched_by_torchrun():
        device = process_device(device_setting)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return ProcessPlace(device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ["WORLD_SIZE"])
    device = process_device(device_setting, local_rank, int(os.environ.get("LOCAL_WORLD_SIZE", world_size)))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group(backend="nccl", init_method="env://", rank=rank, world_size=world_size,
                                    device_id=device)
        else:
            dist.init_process_group(backend="gloo", init_method="env://", rank=rank, world_size=world_size)
    return ProcessPlace(device, rank, local_rank, world_size)


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


def broadcast_object(obj, source=0):
    """Rank `source`'s `obj` on every rank (what other ranks pass is ignored); `obj` itself alone."""
    if not is_distributed():
        return obj
    holder = [obj if get_rank() == source else None]
    dist.broadcast_object_list(holder, src=source)
    return holder[0]


def broadcast_buffers(module, source=0):
    """Copy rank `source`'s buffers (BatchNorm running statistics) into `module` on every rank.

    Without SyncBN every rank updates its running statistics from its own batches; DDP overwrites them
    with rank 0's at the start of each forward, so between an optimiser step and the next forward the ranks
    disagree. Evaluating on every rank, or saving rank 0's state, needs rank 0's statistics everywhere.
    """
    if not is_distributed():
        return
    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=source)


def cleanup_distributed():
    if is_distributed():
        dist.destroy_process_group()
