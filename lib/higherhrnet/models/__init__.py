"""The HigherHRNet network (algorithm.md §2): HRNet blocks and modules, the deconvolution head, build_model(),
weight loading in every official format, and a parameter / multiply-add summary.

    model = build_model(cfg).eval()
    load_model_weights(model, 'models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth')
    outputs = model(images)   # list: [(N, 2J, H/4, W/4), (N, J, H/2, W/2)] for the official configs
"""
from .blocks import BasicBlock, Bottleneck
from .builder import MODELS, build_model, resolve_device
from .checkpoint import load_model_weights, load_pretrained_layers, read_state_dict
from .errors import CheckpointError, DeviceError, ModelConfigError
from .hr_module import HighResolutionModule
from .pose_higher_hrnet import PoseHigherResolutionNet
from .summary import ModelSummary, model_summary

__all__ = ['BasicBlock', 'Bottleneck', 'CheckpointError', 'DeviceError', 'HighResolutionModule', 'MODELS',
           'ModelConfigError', 'ModelSummary', 'PoseHigherResolutionNet', 'build_model', 'load_model_weights',
           'load_pretrained_layers', 'model_summary', 'read_state_dict', 'resolve_device']
