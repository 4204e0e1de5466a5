"""HRNet's multi-resolution module (algorithm.md §2.4) and the transitions between stages (algorithm.md §2.3).

Branch b works at stride 4 * 2**b. A module runs every branch on its own resolution and then fuses: output i is
the sum over inputs j of x[j] brought to branch i (1x1 conv + BN + nearest upsampling when j is coarser;
strided 3x3 convs when j is finer), followed by a (not in-place) ReLU. Attribute names are the state-dict keys.
"""
from torch import nn

from .blocks import batch_norm, residual_layer
from .errors import ModelConfigError


def _upsample_from_coarser(in_channels, out_channels, factor):
    """Coarser -> finer: Sequential[1x1 conv, BN, nearest x factor] (BN before the upsampling, as official)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0, bias=False),
        batch_norm(out_channels),
        nn.Upsample(scale_factor=factor, mode='nearest'),
    )


def _downsample_from_finer(in_channels, out_channels, steps):
    """Finer -> coarser by 2**steps: `steps` stride-2 3x3 convs; all but the last keep the width and end with ReLU."""
    convs = []
    for step in range(steps):
        if step == steps - 1:
            convs.append(nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
                batch_norm(out_channels),
            ))
        else:
            convs.append(nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, stride=2, padding=1, bias=False),
                batch_norm(in_channels),
                nn.ReLU(inplace=True),
            ))
    return nn.Sequential(*convs)


class HighResolutionModule(nn.Module):
    """Parallel residual branches plus multi-resolution fusion.

    Args:
        block: BasicBlock or Bottleneck.
        num_blocks: blocks per branch, length n.
        in_channels: input width per branch, length n.
        channels: block width per branch, length n (outputs have channels[b] * block.expansion).
        multi_scale_output: False = fuse only output 0 (the last module of stage 4).

    forward(x: list of n tensors (N, in_channels[b], H/2**b, W/2**b)) -> list of n tensors (or 1 when
    multi_scale_output is False) with `out_channels[b]` channels.
    """

    def __init__(self, block, num_blocks, in_channels, channels, multi_scale_output=True):
        super().__init__()
        num_branches = len(channels)
        if not (len(num_blocks) == len(in_channels) == num_branches) or num_branches < 1:
            raise ModelConfigError(f"HighResolutionModule: NUM_BLOCKS {list(num_blocks)}, input widths "
                                   f"{list(in_channels)} and NUM_CHANNELS {list(channels)} must have one entry per branch")
        self.num_branches = num_branches
        self.multi_scale_output = multi_scale_output

        branches = []
        out_channels = []
        for b in range(num_branches):
            branch, width = residual_layer(block, in_channels[b], channels[b], num_blocks[b])
            branches.append(branch)
            out_channels.append(width)
        self.branches = nn.ModuleList(branches)
        self.out_channels = out_channels
        self.fuse_layers = self._make_fuse_layers() if num_branches > 1 else None
        self.relu = nn.ReLU(inplace=False)

    def _make_fuse_layers(self):
        widths = self.out_channels
        num_outputs = self.num_branches if self.multi_scale_output else 1
        fuse_layers = []
        for i in range(num_outputs):
            row = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(_upsample_from_coarser(widths[j], widths[i], 2 ** (j - i)))
                elif j == i:
                    row.append(None)
                else:
                    row.append(_downsample_from_finer(widths[j], widths[i], i - j))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def forward(self, x):
        x = [branch(features) for branch, features in zip(self.branches, x)]
        if self.num_branches == 1:
            return x
        outputs = []
        for i, fuse_row in enumerate(self.fuse_layers):
            # Official summation order (matters for float rounding only): start from input 0, add j = 1, 2, ...
            y = x[0] if i == 0 else fuse_row[0](x[0])
            for j in range(1, self.num_branches):
                y = y + (x[j] if i == j else fuse_row[j](x[j]))
            outputs.append(self.relu(y))
        return outputs


def make_transition(previous_channels, next_channels):
    """Transition between stages (algorithm.md §2.3): a ModuleList with one entry per branch of the next stage.

    Existing branch i: Sequential[3x3 conv, BN, ReLU] if its width changes, else None (no keys).
    New branch i >= len(previous): i + 1 - len(previous) stride-2 Sequential[3x3 conv, BN, ReLU] from the
    last previous branch; only the last one changes the width to next_channels[i].
    """
    num_previous = len(previous_channels)
    layers = []
    for i, width in enumerate(next_channels):
        if i < num_previous:
            if width != previous_channels[i]:
                layers.append(nn.Sequential(
                    nn.Conv2d(previous_channels[i], width, 3, stride=1, padding=1, bias=False),
                    batch_norm(width),
                    nn.ReLU(inplace=True),
                ))
            else:
                layers.append(None)
        else:
            convs = []
            in_width = previous_channels[-1]
            for step in range(i + 1 - num_previous):
                out_width = width if step == i - num_previous else in_width
                convs.append(nn.Sequential(
                    nn.Conv2d(in_width, out_width, 3, stride=2, padding=1, bias=False),
                    batch_norm(out_width),
                    nn.ReLU(inplace=True),
                ))
            layers.append(nn.Sequential(*convs))
    return nn.ModuleList(layers)


def check_transition_quirk(stage_name, previous_channels, next_channels):
    """Raise if the official forward would feed a width-changing existing branch the wrong tensor (algorithm.md B23).

    For stages 3 and 4 the official code feeds every non-None transition with the previous stage's *last*
    branch. That is right for new branches and for the last existing one, wrong for any other existing branch.
    """
    for i in range(min(len(previous_channels) - 1, len(next_channels))):
        if next_channels[i] != previous_channels[i]:
            raise ModelConfigError(
                f"MODEL.EXTRA.{stage_name} branch {i} has width {next_channels[i]} but the previous stage gives "
                f"{previous_channels[i]}: the official transition would feed it the last branch's features "
                "(algorithm.md §2.3, B23)")


def make_stage(block, num_modules, num_blocks, in_channels, channels, multi_scale_output=True):
    """`num_modules` HighResolutionModules in a Sequential. Returns (stage, out_channels per branch).

    With multi_scale_output False only the last module fuses output 0 alone (stage 4).
    """
    modules = []
    widths = list(in_channels)
    for m in range(num_modules):
        last_single_output = not multi_scale_output and m == num_modules - 1
        module = HighResolutionModule(block, num_blocks, widths, channels, multi_scale_output=not last_single_output)
        modules.append(module)
        widths = module.out_channels
    return nn.Sequential(*modules), widths
