"""Training checkpoints: written atomically, read back for an exact resume.

`checkpoint.pth.tar` keeps the official keys (epoch, model, state_dict, best_state_dict, perf, optimizer)
and adds lr_scheduler, grad_scaler, rng_states and config (algorithm.md M7). `state_dict` is stored unwrapped
(no `module.` prefix); the model loader accepts both. Every file holds only tensors and plain Python
containers, so it loads with `torch.load(..., weights_only=True)`.

Atomic write: the file is written to a temporary name in the same directory, flushed to disk, then renamed
over the target (`os.replace` is atomic on POSIX), so a kill during the write leaves the previous file intact.

Resume (AUTO_RESUME): rank 0 alone looks for the checkpoint and reads it; the decision and the checkpoint
are broadcast to the other ranks, so every rank resumes from the same state even when the nodes share no
filesystem. Each rank restores its own RNG states, and the CUDA RNG state of its own device only, so a
resumed run may use another number of GPUs per node at the same world size.
"""
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch
from higherhrnet.errors import UserError

CHECKPOINT_NAME = "checkpoint.pth.tar"
BEST_NAME = "model_best.pth.tar"
FINAL_NAME = "final_state.pth"


class ResumeError(UserError, RuntimeError):
    """A training checkpoint cannot be used to resume."""


def atomic_torch_save(obj, path):
    """torch.save `obj` to `path` through a temporary file and an atomic rename.

    The file gets the mode a plain open() would give (0666 minus the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def _current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def capture_rng_states(device=None):
    """The states of every RNG the training touches, as tensors / plain containers.

    device: the process's torch device; on CUDA its generator's state is kept (only that device's).
    """
    np_state = np.random.get_state()
    states = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": _to_lists(random.getstate()),
    }
    if device is not None and device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def restore_rng_states(states, device=None):
    """Inverse of capture_rng_states, for this process's `device`.

    A CUDA state is restored on `device` only. Checkpoints of earlier versions hold the states of every
    visible device (a list): the entry of this device's index is used when it exists.
    """
    torch.set_rng_state(states["torch"])
    np_state = states["numpy"]
    np.random.set_state((np_state["name"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    random.setstate(_to_tuples(states["python"]))
    cuda_state = states.get("cuda")
    if cuda_state is None or device is None or device.type != "cuda":
        return
    if isinstance(cuda_state, (list, tuple)):
        index = device.index or 0
        if index >= len(cuda_state):
            return
        cuda_state = cuda_state[index]
    torch.cuda.set_rng_state(cuda_state, device)


def _to_lists(value):
    return [_to_lists(v) for v in value] if isinstance(value, tuple) else value


def _to_tuples(value):
    return tuple(_to_tuples(v) for v in value) if isinstance(value, list) else value


def build_checkpoint(epoch, model_name, model, optimizer, lr_scheduler, grad_scaler, config_yaml, perf,
                     rng_states_per_rank, global_step):
    """The checkpoint dict saved after `epoch` (0-based) has finished: training resumes at epoch + 1.

    rng_states_per_rank: capture_rng_states() of every rank, in rank order (each rank restores its own).
    """
    state_dict = model.state_dict()
    return {
        "epoch": epoch + 1,
        "model": model_name,
        "state_dict": state_dict,
        "best_state_dict": state_dict,
        "perf": perf,
        "optimizer": optimizer.state_dict(),
        "lr_scheduler": lr_scheduler.state_dict(),
        "grad_scaler": grad_scaler.state_dict() if grad_scaler is not None else None,
        "rng_states": rng_states_per_rank,
        "global_step": global_step,
        "config": config_yaml,
    }


def load_training_checkpoint(path):
    """Read a checkpoint written by build_checkpoint/atomic_torch_save; one-line error when unusable."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - rephrased as one line
        raise ResumeError(f"{path}: cannot read the training checkpoint ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''})") from None
    required = ("epoch", "state_dict", "optimizer")
    missing = [key for key in required if key not in checkpoint]
    if missing:
        raise ResumeError(f"{path}: not a training checkpoint (missing keys {missing})")
    return checkpoint


def read_for_resume(checkpoint_file, enabled):
    """The checkpoint to resume from, on every rank, or None: rank 0 decides and reads, then broadcasts.

    enabled: AUTO_RESUME. Only rank 0's view of the filesystem counts; the others need no copy of the file.
    Raises ResumeError (on every rank) when rank 0 finds the file but cannot use it.
    """
    from .distributed import broadcast_object, is_main_process

    outcome = None
    if is_main_process() and enabled and Path(checkpoint_file).exists():
        try:
            outcome = ("checkpoint", load_training_checkpoint(checkpoint_file))
        except ResumeError as error:
            outcome = ("error", str(error))
    outcome = broadcast_object(outcome)
    if outcome is None:
        return None
    kind, value = outcome
    if kind == "error":
        raise ResumeError(value)
    return value


# optimiser settings of the config, by the config key that sets them
_OPTIMIZER_SETTINGS = {"initial_lr": "TRAIN.LR", "weight_decay": "TRAIN.WD", "momentum": "TRAIN.MOMENTUM",
                       "nesterov": "TRAIN.NESTEROV", "betas": "Adam betas", "eps": "Adam eps"}


def optimizer_setting_changes(optimizer, saved_state):
    """Warning lines for the settings where the freshly built `optimizer` (from the config) and the
    checkpoint's optimiser state (`saved_state`, an optimizer.state_dict()) disagree.

    Resuming restores the checkpoint's optimiser state, so its values are the ones used (as the official
    resume does); the warning says so, since the config saved with the new checkpoints shows the new ones.
    """
    if not saved_state.get("param_groups") or not optimizer.param_groups:
        return []
    current, saved = optimizer.param_groups[0], saved_state["param_groups"][0]
    lines = []
    for name, key in _OPTIMIZER_SETTINGS.items():
        if name in current and name in saved and _as_plain(current[name]) != _as_plain(saved[name]):
            lines.append(f"{key} is {_as_plain(current[name])} in the config but {_as_plain(saved[name])} in the "
                         f"checkpoint: the resumed run keeps the checkpoint's value {_as_plain(saved[name])} "
                         f"(start in a new OUTPUT_DIR to train with the new one)")
    return lines


def _as_plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def resume_into(checkpoint, model, optimizer, lr_scheduler, scaler, place, logger):
    """Restore the training state of `checkpoint` (from read_for_resume); returns (begin_epoch, global_step).

    model: the unwrapped network (every rank loads the same broadcast checkpoint, so the replicas agree);
    scaler: the GradScaler or None; place: this process's engine.distributed.ProcessPlace.
    The RNG states are restored last: call this after everything that draws random numbers at start-up.
    """
    model.load_state_dict(checkpoint["state_dict"])
    for line in optimizer_setting_changes(optimizer, checkpoint["optimizer"]) if place.is_main else []:
        logger.warning(line)
    optimizer.load_state_dict(checkpoint["optimizer"])
    if checkpoint.get("lr_scheduler") is not None:
        lr_scheduler.load_state_dict(checkpoint["lr_scheduler"])
    if scaler is not None and checkpoint.get("grad_scaler") is not None:
        scaler.load_state_dict(checkpoint["grad_scaler"])
    rng_states = checkpoint.get("rng_states")
    if rng_states is not None and len(rng_states) == place.world_size:
        restore_rng_states(rng_states[place.rank], place.device)
    else:
        logger.warning("checkpoint has no RNG states for this world size: the resumed run is not bit-exact")
    return checkpoint["epoch"], checkpoint.get("global_step", 0)
