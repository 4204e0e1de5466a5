"""Residual blocks of HRNet (algorithm.md §2.1): BasicBlock (expansion 1) and Bottleneck (expansion 4).

Attribute names are the official ones because they are the state-dict keys (`conv1`, `bn1`, ...,
`downsample.0.weight`, `downsample.1.*`). All convolutions are bias-free; every BatchNorm has eps 1e-5 and
momentum 0.1. Tensors are (N, C, H, W).
"""
from torch import nn

BN_MOMENTUM = 0.1


def conv3x3(in_channels, out_channels, stride=1):
    """3x3 convolution, padding 1, no bias."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def batch_norm(channels):
    """BatchNorm2d with the official momentum (0.1) and eps (1e-5)."""
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)


def projection(in_channels, out_channels, stride=1):
    """The `downsample` shortcut: Sequential[1x1 conv (stride, no bias), BN] -> keys downsample.{0,1}.*"""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        batch_norm(out_channels),
    )


class BasicBlock(nn.Module):
    """3x3 conv -> BN -> ReLU -> 3x3 conv -> BN -> + shortcut -> ReLU.  (N, inplanes, H, W) -> (N, planes, H/s, W/s)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = batch_norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = batch_norm(planes)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 -> BN -> ReLU -> 3x3 (stride) -> BN -> ReLU -> 1x1 (x4) -> BN -> + shortcut -> ReLU.

    (N, inplanes, H, W) -> (N, 4 * planes, H/s, W/s).
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = batch_norm(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = batch_norm(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = batch_norm(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


# Names accepted by MODEL.EXTRA.STAGE*.BLOCK.
BLOCKS = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}


def residual_layer(block, inplanes, planes, num_blocks, stride=1):
    """`num_blocks` blocks in a Sequential; the first gets a projection shortcut if stride/width change.

    Returns (layer, out_channels) with out_channels = planes * block.expansion.
    """
    out_channels = planes * block.expansion
    downsample = projection(inplanes, out_channels, stride) if stride != 1 or inplanes != out_channels else None
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(out_channels, planes) for _ in range(1, num_blocks)]
    return nn.Sequential(*layers), out_channels
