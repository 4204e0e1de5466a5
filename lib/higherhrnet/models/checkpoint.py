"""Reading weight files in every format the official code produced, and loading them (algorithm.md §2.8, 2.9).

Accepted files (all read with `torch.load(map_location='cpu', weights_only=True)`):

* a plain state dict (model-zoo `pose_higher_hrnet_w32_512.pth`, `model_best.pth.tar`, `final_state.pth.tar`);
* a dict holding the state dict under `state_dict`, `best_state_dict` or `model`, tried in that order, taking
  the first that is a dict of tensors (official training checkpoints store the model NAME under `model`);
* keys prefixed `module.` (DataParallel / DDP) are stripped; then, when every key starts with `1.`, that
  prefix is stripped too: the 640 zoo models were saved through the fp16 wrapper Sequential(to-half,
  network, to-float), whose tensors are fp16;
* mmpose-style keys (`backbone.` / `keypoint_head.` on every key) are stripped as well (best effort);
* floating tensors are cast to float32.

Legacy training checkpoints that pickle the official FP16 optimiser are refused by `weights_only=True`;
the error says so. Every failure is a one-line `CheckpointError`.
"""
import logging
import os

import torch
from torch import nn

from .errors import CheckpointError

logger = logging.getLogger(__name__)

STATE_DICT_ENTRIES = ('state_dict', 'best_state_dict', 'model')
MMPOSE_PREFIXES = ('backbone.', 'keypoint_head.')
_MAX_NAMES = 3  # names listed per kind of mismatch in an error message


def _is_state_dict(obj):
    return (isinstance(obj, dict) and len(obj) > 0
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()))


def _first_line(text, limit=160):
    line = str(text).strip().splitlines()[0] if str(text).strip() else ''
    return line if len(line) <= limit else line[:limit - 3] + '...'


def _strip_prefix(state_dict, prefix, only_if_all):
    keys = list(state_dict)
    if only_if_all and not all(k.startswith(prefix) for k in keys):
        return state_dict
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in state_dict.items()}


def normalize_state_dict(state_dict):
    """Strip `module.`, then an all-keys `1.` (fp16 wrapper), then mmpose prefixes; cast floats to float32."""
    state_dict = _strip_prefix(state_dict, 'module.', only_if_all=False)
    state_dict = _strip_prefix(state_dict, '1.', only_if_all=True)
    if all(k.startswith(MMPOSE_PREFIXES) for k in state_dict):
        for prefix in MMPOSE_PREFIXES:
            state_dict = _strip_prefix(state_dict, prefix, only_if_all=False)
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state_dict.items()}


def read_state_dict(path):
    """Read a weights file (any format above) and return a normalised {name: tensor} on the CPU, float32."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # pickle / zip / weights_only refusals all mean "not a plain weights file"
        message, detail = str(err), f"{type(err).__name__}: {_first_line(err)}"
        if 'Unsupported global' in message or 'allowed global' in message:
            hint = ' (it pickles Python objects, e.g. a legacy optimiser; re-save only its state_dict)'
        else:  # bytes torch.load cannot parse at all
            hint, detail = ' (corrupt, truncated or not written by torch.save)', type(err).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch weights file{hint}: {detail}") from None
    if _is_state_dict(obj):
        return normalize_state_dict(obj)
    if isinstance(obj, dict):
        for entry in STATE_DICT_ENTRIES:
            if _is_state_dict(obj.get(entry)):
                return normalize_state_dict(obj[entry])
        keys = ', '.join(map(str, list(obj)[:8]))
        raise CheckpointError(f"{path}: no state dict found (looked for a dict of tensors at the top level or under "
                              f"{', '.join(STATE_DICT_ENTRIES)}; top-level keys: {keys})")
    raise CheckpointError(f"{path}: expected a state dict, got a {type(obj).__name__}")


def _names(names):
    shown = ', '.join(names[:_MAX_NAMES])
    return shown + (', ...' if len(names) > _MAX_NAMES else '')


def _shape(t):
    return 'x'.join(map(str, t.shape)) or 'scalar'


def describe_mismatch(model_state, file_state):
    """One-line summary of missing / unexpected / wrongly shaped keys, or '' when the file fits the model.

    A missing `num_batches_tracked` is not a mismatch (PyTorch fills it in, as for pre-0.4.1 files).
    """
    missing = [k for k in model_state if k not in file_state and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in file_state if k not in model_state]
    wrong = [f"{k} (file {_shape(file_state[k])}, model {_shape(v)})"
             for k, v in model_state.items() if k in file_state and file_state[k].shape != v.shape]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing [{_names(missing)}]")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected [{_names(unexpected)}]")
    if wrong:
        parts.append(f"{len(wrong)} wrong shape [{_names(wrong)}]")
    return '; '.join(parts)


def _unwrap(model):
    return model.module if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)) else model


def load_model_weights(model, path):
    """Strictly load the weights file `path` into `model` (DataParallel/DDP wrappers are looked through).

    Raises CheckpointError (one line: counts and the first names of missing / unexpected / wrongly shaped
    keys) when the file does not fit the model. Returns the model.
    """
    path = os.fspath(path)
    state_dict = read_state_dict(path)
    target = _unwrap(model)
    mismatch = describe_mismatch(target.state_dict(), state_dict)
    if mismatch:
        raise CheckpointError(f"{path}: weights do not fit the model ({type(target).__name__}): {mismatch}")
    try:
        target.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the model: {_first_line(err)}") from None
    return model


def load_pretrained_layers(model, path, pretrained_layers=('*',)):
    """Copy the entries of `path` whose top-level module is in `pretrained_layers` (algorithm.md §2.8).

    `['*']` (first entry '*') copies everything. Only names the model has are kept, so classification-only
    entries of the ImageNet checkpoints are skipped silently, as officially; a kept entry with another shape
    is an error. A missing file is logged and skipped (the official code skips it silently).
    Returns the number of tensors copied.
    """
    path = os.fspath(path)
    if not path:
        return 0
    if not os.path.isfile(path):
        logger.warning("MODEL.PRETRAINED %s does not exist: training starts from the random initialisation", path)
        return 0
    state_dict = read_state_dict(path)
    target = _unwrap(model)
    model_state = target.state_dict()
    copy_all = list(pretrained_layers)[:1] == ['*']  # equality, where the official code used `is` ([M])
    kept = {k: v for k, v in state_dict.items()
            if k in model_state and (copy_all or k.split('.')[0] in pretrained_layers)}
    wrong = [f"{k} (file {_shape(v)}, model {_shape(model_state[k])})"
             for k, v in kept.items() if v.shape != model_state[k].shape]
    if wrong:
        raise CheckpointError(f"{path}: {len(wrong)} pretrained tensors have another shape than the model "
                              f"[{_names(wrong)}]; restrict MODEL.EXTRA.PRETRAINED_LAYERS")
    target.load_state_dict(kept, strict=False)
    logger.info("=> loaded %d of %d tensors from pretrained %s", len(kept), len(state_dict), path)
    return len(kept)
