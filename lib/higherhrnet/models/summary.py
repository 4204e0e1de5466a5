"""Parameter and multiply-add counts with the official summary's conventions (FIXTURES 1, algorithm.md §9.1).

Counted, per module call on a batch-1 input:
* parameters of Conv*/BatchNorm*/Linear modules (all the model's parameters for HigherHRNet);
* multiply-adds of convolutions, transposed ones included: prod(weight.shape) * prod(output H, W)
  (biases not counted), and of Linear layers: output.numel() * in_features.
"GFLOPs" in the paper tables is multiply-adds / 1e9 (47.86 for W32-512, 154.31 for W48-640).

The forward runs on the `meta` device (shapes only, no arithmetic), so it takes milliseconds even for W48-640
and does not touch the model's weights.
"""
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call

_COUNTED = (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm, nn.Linear)


@dataclass
class LayerSummary:
    name: str  # module path, e.g. 'stage2.0.branches.1.3.conv1'
    kind: str  # module class name
    output_shape: tuple
    parameters: int
    multiply_adds: int


@dataclass
class ModelSummary:
    input_shape: tuple  # (1, 3, H, W)
    total_parameters: int  # official convention: Conv/BatchNorm/Linear parameters
    total_multiply_adds: int
    output_shapes: list  # shape of each network output (a list for HigherHRNet)
    layers: list = field(default_factory=list, repr=False)  # LayerSummary per counted module call

    @property
    def gflops(self):
        """Multiply-adds / 1e9: the 'GFLOPs' of the paper and of the official summary."""
        return self.total_multiply_adds / 1e9

    def __getitem__(self, name):
        """Mapping-style access to the totals too: summary['total_parameters'], summary['gflops'], ..."""
        if name not in ('input_shape', 'total_parameters', 'total_multiply_adds', 'gflops', 'output_shapes'):
            raise KeyError(name)
        return getattr(self, name)

    def __str__(self):
        outputs = ', '.join('x'.join(map(str, s)) for s in self.output_shapes)
        return (f"input {'x'.join(map(str, self.input_shape))}: {self.total_parameters:,} parameters, "
                f"{self.total_multiply_adds:,} multiply-adds ({self.gflops:.2f} GFLOPs), outputs [{outputs}]")

    def table(self):
        """Per-layer lines (name, type, output shape, parameters, multiply-adds) followed by the totals."""
        lines = [f"{'layer':<48} {'type':<16} {'output':<20} {'params':>10} {'mult-adds':>14}"]
        for row in self.layers:
            shape = 'x'.join(map(str, row.output_shape))
            lines.append(f"{row.name:<48} {row.kind:<16} {shape:<20} {row.parameters:>10,} {row.multiply_adds:>14,}")
        lines.append(str(self))
        return '\n'.join(lines)


def _multiply_adds(module, output, inputs):
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.weight.numel() * int(torch.Size(output.shape[2:]).numel())
    if isinstance(module, nn.Linear):
        return output.numel() * inputs[0].shape[-1]
    return 0


def model_summary(model, input_size):
    """Summarise `model` for an input of side `input_size` (int) or (height, width), batch 1, 3 channels.

    Returns a ModelSummary (total_parameters, total_multiply_adds, gflops, output_shapes, per-layer rows).
    """
    height, width = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    input_shape = (1, 3, height, width)
    names = {module: name for name, module in model.named_modules()}
    layers = []

    def hook(module, inputs, output):
        params = sum(p.numel() for p in module.parameters(recurse=False))
        layers.append(LayerSummary(names.get(module, '?'), type(module).__name__, tuple(output.shape), params,
                                   _multiply_adds(module, output, inputs)))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _COUNTED)]
    meta_state = {name: torch.empty_like(t, device='meta')
                  for name, t in list(model.named_parameters()) + list(model.named_buffers())}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outputs = functional_call(model, meta_state, (torch.empty(input_shape, device='meta'),))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    return ModelSummary(
        input_shape=input_shape,
        total_parameters=sum(row.parameters for row in layers),
        total_multiply_adds=sum(row.multiply_adds for row in layers),
        output_shapes=[tuple(o.shape) for o in outputs],
        layers=layers,
    )
