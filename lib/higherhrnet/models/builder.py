"""Building the network from a config, and choosing the device.

The config is read here, at the edge; the network classes take plain arguments.
"""
import re

import torch

from .checkpoint import load_pretrained_layers
from .errors import DeviceError, ModelConfigError
from .pose_higher_hrnet import PoseHigherResolutionNet

# MODEL.NAME -> network class. The official default name ('pose_multi_resolution_net_v16') builds nothing.
MODELS = {'pose_higher_hrnet': PoseHigherResolutionNet}


def build_model(cfg, is_train=False):
    """The network named by cfg.MODEL.NAME, on the CPU, in training mode (call .eval() for inference).

    As the official get_pose_net: with is_train and MODEL.INIT_WEIGHTS, weights get the official
    initialisation and then the MODEL.EXTRA.PRETRAINED_LAYERS of MODEL.PRETRAINED (if that file exists);
    otherwise PyTorch's default initialisation is left in place (weights are loaded afterwards).
    forward(images (N, 3, H, W)) returns the list of per-stage outputs.
    """
    name = cfg.MODEL.NAME
    if name not in MODELS:
        raise ModelConfigError(f"MODEL.NAME {name!r} is not a known model; expected one of {', '.join(MODELS)}")
    model = MODELS[name](
        extra=cfg.MODEL.EXTRA,
        num_joints=cfg.MODEL.NUM_JOINTS,
        tag_per_joint=cfg.MODEL.TAG_PER_JOINT,
        with_ae_loss=list(cfg.LOSS.WITH_AE_LOSS),
    )
    if is_train and cfg.MODEL.INIT_WEIGHTS:
        model.init_weights()
        if cfg.MODEL.PRETRAINED:
            load_pretrained_layers(model, cfg.MODEL.PRETRAINED, cfg.MODEL.EXTRA.PRETRAINED_LAYERS)
    return model


_DEVICE_PATTERN = re.compile(r'^(cpu|mps|cuda(:\d+)?)$')


def resolve_device(name=''):
    """torch.device for a DEVICE setting: '' = cuda if available else cpu; 'cpu', 'cuda', 'cuda:<i>', 'mps'.

    Raises DeviceError (one line) for a malformed name or a device this machine does not have.
    """
    name = (name or '').strip()
    if not name:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if not _DEVICE_PATTERN.match(name):
        raise DeviceError(f"DEVICE {name!r} is not a device name; expected '', 'cpu', 'cuda', 'cuda:<index>' or 'mps'")
    device = torch.device(name)
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise DeviceError(f"DEVICE {name!r}: CUDA is not available on this machine (use 'cpu' or '')")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"DEVICE {name!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
    if device.type == 'mps' and not (hasattr(torch.backends, 'mps') and torch.backends.mps.is_available()):
        raise DeviceError(f"DEVICE {name!r}: MPS is not available on this machine (use 'cpu' or '')")
    return device
