"""The network prepared for the fast inference mode (TEST.AMP): BatchNorm folded, weights pre-cast, channels-last.

    FastNetwork(model, device)(images (N, 3, H, W) float32) -> list of float32 (N, C_s, h_s, w_s), as model(images)

Not bit-exact with the official fp32 numerics (the default path keeps the unmodified network): the poses move
by the AP amounts the README lists. What the preparation does, on a deep copy (the given model is untouched):
  - folds every BatchNorm2d into the convolution or transposed convolution before it (inference statistics;
    the fold is computed in float64, then stored in float32): one op less per conv, no BN pass at all;
  - casts the weights once to the reduced dtype (bfloat16 on CPU, float16 on CUDA) instead of letting autocast
    cast them on every call, so no fp32 <-> reduced casts happen between stages;
  - stores weights and input channels-last (NHWC), the layout oneDNN's and cuDNN's reduced-precision kernels use;
  - casts the outputs to float32 once, before the stage / flip aggregation (the decoder stays float32);
  - optionally (TEST.COMPILE) runs the copy through torch.compile (inductor); when no C++ compiler exists or the
    compilation fails at a call, it logs one warning and runs eagerly from then on.
The switches `fold_batch_norm`, `cast_weights` (False = autocast on the float32 copy, the earlier TEST.AMP) and
`channels_last` exist so that benchmarks/accuracy.py can measure each lever alone.
"""
import copy
import logging
import os
import shutil
from contextlib import nullcontext

import torch
from torch import nn

logger = logging.getLogger(__name__)

CXX_COMPILERS = ("g++", "c++", "clang++")  # what inductor's CPU backend calls (or $CXX)


class BatchNormFoldError(RuntimeError):
    """A BatchNorm2d of the network does not follow a convolution, so it cannot be folded."""


def reduced_dtype(device):
    """The reduced-precision dtype of the fast mode: torch.float16 on CUDA, torch.bfloat16 elsewhere (CPU)."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.bfloat16


def fold_batch_norm_into_conv(conv, batch_norm):
    """conv (Conv2d or ConvTranspose2d, groups 1) followed by batch_norm (eval statistics) -> one conv, in place.

    y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta = conv'(x) with per-output-channel scaled weights
    and bias (b - mean) * scale + beta. Returns `conv` (it gets a bias parameter if it had none).
    """
    if conv.groups != 1:
        raise BatchNormFoldError(f"cannot fold BatchNorm into a grouped convolution ({conv})")
    statistics = [batch_norm.running_mean, batch_norm.running_var, batch_norm.weight, batch_norm.bias]
    mean, var, gamma, beta = (t.detach().double() for t in statistics)
    scale = gamma / torch.sqrt(var + batch_norm.eps)
    weight = conv.weight.detach().double()
    # Output channels: dim 0 of a Conv2d weight (out, in, kh, kw), dim 1 of a ConvTranspose2d weight (in, out, kh, kw).
    shape = (1, -1, 1, 1) if isinstance(conv, nn.ConvTranspose2d) else (-1, 1, 1, 1)
    bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros_like(mean)
    dtype = conv.weight.dtype
    conv.weight = nn.Parameter((weight * scale.reshape(shape)).to(dtype), requires_grad=False)
    conv.bias = nn.Parameter(((bias - mean) * scale + beta).to(dtype), requires_grad=False)
    return conv


def _is_conv(module):
    return isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))


def fold_batch_norms(network):
    """Folds every BatchNorm2d of `network` (in place) into the conv before it; each BN becomes nn.Identity.

    The convs and BNs of HRNet pair up in two ways: neighbours in an nn.Sequential (shortcuts, transitions,
    fuse layers, the deconv head) and attributes `conv<k>` / `bn<k>` of one module (the stem, the residual
    blocks). Raises BatchNormFoldError if a BatchNorm2d is left over (then the network is of another kind).
    Returns `network`.
    """
    for module in list(network.modules()):
        if isinstance(module, nn.Sequential):
            names = list(module._modules)
            for previous, name in zip(names, names[1:]):
                conv, batch_norm = module._modules[previous], module._modules[name]
                if _is_conv(conv) and isinstance(batch_norm, nn.BatchNorm2d):
                    fold_batch_norm_into_conv(conv, batch_norm)
                    module._modules[name] = nn.Identity()
        for name, child in list(module._modules.items()):
            conv_name = "conv" + name[2:]
            if name.startswith("bn") and isinstance(child, nn.BatchNorm2d) and _is_conv(getattr(module, conv_name, None)):
                fold_batch_norm_into_conv(getattr(module, conv_name), child)
                setattr(module, name, nn.Identity())
    left = [name for name, module in network.named_modules() if isinstance(module, nn.BatchNorm2d)]
    if left:
        raise BatchNormFoldError(f"BatchNorm2d without a preceding convolution: {', '.join(left[:3])}")
    return network


def cxx_compiler():
    """The C++ compiler inductor's CPU backend would call ($CXX or one of CXX_COMPILERS on PATH), or None."""
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else list(CXX_COMPILERS)
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    return None


class FastNetwork:
    """A prepared copy of a HigherHRNet network for reduced-precision inference (see the module docstring).

    model: the float32 network (not modified); device: where it runs; dtype: default `reduced_dtype(device)`;
    compile: try torch.compile (inductor) with the eager fallback. Calling it with images (N, 3, H, W) float32) returns
    the list of stage outputs as float32 contiguous (N, C_s, h_s, w_s) tensors, like the original network.
    """

    def __init__(self, model, device, dtype=None, fold_batch_norm=True, cast_weights=True, channels_last=True,
                 compile=False):
        self.device = torch.device(device)
        self.dtype = dtype if dtype is not None else reduced_dtype(self.device)
        self.cast_weights = cast_weights
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        network = copy.deepcopy(model).eval().to(self.device)
        for parameter in network.parameters():
            parameter.requires_grad_(False)
        if fold_batch_norm:
            fold_batch_norms(network)
        if cast_weights:
            network = network.to(self.dtype)
        self.network = network.to(memory_format=self.memory_format)
        self.compiled = self._compiled_network() if compile else None

    def _compiled_network(self):
        if self.device.type == "cpu" and cxx_compiler() is None:
            logger.warning("TEST.COMPILE: no C++ compiler (g++, c++, clang++ or $CXX) for torch.compile's inductor "
                           "backend; running the fast mode eagerly")
            return None
        try:
            return torch.compile(self.network)
        except Exception as error:  # noqa: BLE001 - any failure means: run eagerly
            logger.warning(f"TEST.COMPILE: torch.compile failed ({type(error).__name__}: {error}); running eagerly")
            return None

    def _run(self, images):
        if self.compiled is not None:
            try:
                return self.compiled(images)
            except Exception as error:  # noqa: BLE001 - compilation happens at the first call of each shape
                logger.warning(f"TEST.COMPILE: compiling the network failed ({type(error).__name__}: "
                               f"{str(error).splitlines()[0] if str(error) else ''}); running eagerly from now on")
                self.compiled = None
        return self.network(images)

    def eval(self):
        """Already in eval mode (PosePipeline calls eval() on any network)."""
        return self

    def __call__(self, images):
        x = images.to(self.device, non_blocking=True)
        x = x.to(self.dtype) if self.cast_weights else x
        x = x.contiguous(memory_format=self.memory_format)
        context = nullcontext() if self.cast_weights else torch.autocast(self.device.type, dtype=self.dtype)
        with context:
            outputs = self._run(x)
        return [output.float().contiguous() for output in outputs]
