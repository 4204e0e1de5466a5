"""PoseHigherResolutionNet: the HRNet backbone plus the HigherHRNet deconvolution head (algorithm.md §2.2-2.7).

Module attributes are registered in the official order with the official names, so `state_dict()` has the
official keys, order and shapes (1810 entries for the official configs):

    conv1, bn1, conv2, bn2        stem, 3 -> 64 channels, stride 4 (fixed)
    layer1                        4 Bottlenecks, 256 channels (fixed)
    transition1, stage2, transition2, stage3, transition3, stage4     HRNet stages from MODEL.EXTRA.STAGE2..4
    final_layers                  prediction convs (with bias), one per output stage
    deconv_layers                 per deconv: [ConvTranspose2d x2, BN, ReLU] then NUM_BASIC_BLOCKS BasicBlocks

forward(images: (N, 3, H, W), H and W multiples of 32) returns a Python list with NUM_DECONVS + 1 raw
(un-activated) tensors. Stage s has resolution (H/4 * 2**s, W/4 * 2**s) and out_channels[s] channels:
J heatmaps, followed by J tag maps (1 when TAG_PER_JOINT is False) when the stage has the AE loss. For the
official configs: [(N, 2J, H/4, W/4), (N, J, H/2, W/2)].
"""
import torch
from torch import nn

from .blocks import BLOCKS, BasicBlock, Bottleneck, batch_norm, conv3x3, residual_layer
from .errors import ModelConfigError
from .hr_module import check_transition_quirk, make_stage, make_transition

# (padding, output_padding) of the stride-2 transposed conv per kernel size; each exactly doubles H and W.
DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}
STAGE_NAMES = ('STAGE2', 'STAGE3', 'STAGE4')


def _read(extra, *path):
    """extra[path[0]][path[1]]... with a one-line ModelConfigError naming the missing MODEL.EXTRA key."""
    node = extra
    for i, key in enumerate(path):
        try:
            node = node[key]
        except (KeyError, TypeError, IndexError):
            raise ModelConfigError(f"MODEL.EXTRA.{'.'.join(map(str, path[:i + 1]))} is missing") from None
    return node


def _stage_settings(extra, name):
    """(block class, num_modules, num_blocks, num_channels) of MODEL.EXTRA.<name>, validated."""
    block_name = _read(extra, name, 'BLOCK')
    if block_name not in BLOCKS:
        raise ModelConfigError(f"MODEL.EXTRA.{name}.BLOCK is {block_name!r}; expected one of {', '.join(BLOCKS)}")
    num_branches = _read(extra, name, 'NUM_BRANCHES')
    num_blocks = list(_read(extra, name, 'NUM_BLOCKS'))
    num_channels = list(_read(extra, name, 'NUM_CHANNELS'))
    if not (len(num_blocks) == len(num_channels) == num_branches):
        raise ModelConfigError(f"MODEL.EXTRA.{name}: NUM_BLOCKS {num_blocks} and NUM_CHANNELS {num_channels} "
                               f"must both have NUM_BRANCHES = {num_branches} entries")
    return BLOCKS[block_name], _read(extra, name, 'NUM_MODULES'), num_blocks, num_channels


def _layer1_settings(extra):
    """(block class, number of blocks, planes) of layer1: MODEL.EXTRA.STAGE1 if present, else official."""
    try:
        stage1 = extra['STAGE1']
    except (KeyError, TypeError):
        return Bottleneck, 4, 64
    block_name = _read(extra, 'STAGE1', 'BLOCK')
    if block_name not in BLOCKS:
        raise ModelConfigError(f"MODEL.EXTRA.STAGE1.BLOCK is {block_name!r}; expected one of {', '.join(BLOCKS)}")
    num_blocks, num_channels = list(stage1['NUM_BLOCKS']), list(stage1['NUM_CHANNELS'])
    if len(num_blocks) != 1 or len(num_channels) != 1:
        raise ModelConfigError(f"MODEL.EXTRA.STAGE1: NUM_BLOCKS {num_blocks} and NUM_CHANNELS {num_channels} "
                               f"must have one entry each (layer1 has one branch)")
    return BLOCKS[block_name], num_blocks[0], num_channels[0]


class PoseHigherResolutionNet(nn.Module):
    """HigherHRNet for bottom-up pose estimation.

    Args:
        extra: the MODEL.EXTRA mapping (STAGE2/3/4, DECONV, FINAL_CONV_KERNEL, PRETRAINED_LAYERS); a CfgNode
            or a plain nested dict with the same keys.
        num_joints: J, heatmap channels per stage (MODEL.NUM_JOINTS).
        tag_per_joint: one tag map per joint (True) or a single shared tag map (MODEL.TAG_PER_JOINT).
        with_ae_loss: per output stage, whether it also predicts tag maps (LOSS.WITH_AE_LOSS); needs at least
            NUM_DECONVS + 1 entries.
    """

    def __init__(self, extra, num_joints, tag_per_joint=True, with_ae_loss=(True, False)):
        super().__init__()
        num_deconvs = _read(extra, 'DECONV', 'NUM_DECONVS')
        if len(with_ae_loss) < num_deconvs + 1:
            raise ModelConfigError(f"LOSS.WITH_AE_LOSS {list(with_ae_loss)} needs one entry per output stage "
                                   f"(MODEL.EXTRA.DECONV.NUM_DECONVS + 1 = {num_deconvs + 1})")
        for key in ('NUM_CHANNELS', 'KERNEL_SIZE', 'CAT_OUTPUT'):
            values = list(_read(extra, 'DECONV', key))
            if len(values) < num_deconvs:
                raise ModelConfigError(f"MODEL.EXTRA.DECONV.{key} {values} needs NUM_DECONVS = {num_deconvs} entries")
        dim_tag = num_joints if tag_per_joint else 1
        self.num_joints = num_joints
        self.num_deconvs = num_deconvs
        self.out_channels = [num_joints + dim_tag if with_ae_loss[s] else num_joints for s in range(num_deconvs + 1)]
        self.cat_output = [bool(c) for c in _read(extra, 'DECONV', 'CAT_OUTPUT')[:num_deconvs]]
        self.pretrained_layers = list(_read(extra, 'PRETRAINED_LAYERS'))

        # Stem (fixed at 64 channels; STEM_INPLANES is not read, as officially) and layer1. The official
        # layer1 is fixed at 4 Bottlenecks of width 64; the optional MODEL.EXTRA.STAGE1 (an addition, with
        # those values as defaults) allows a cheaper one, e.g. for the CPU demo model.
        self.conv1 = conv3x3(3, 64, stride=2)
        self.bn1 = batch_norm(64)
        self.conv2 = conv3x3(64, 64, stride=2)
        self.bn2 = batch_norm(64)
        self.relu = nn.ReLU(inplace=True)
        layer1_block, layer1_blocks, layer1_planes = _layer1_settings(extra)
        self.layer1, layer1_width = residual_layer(layer1_block, 64, layer1_planes, layer1_blocks)

        # HRNet stages 2-4, each preceded by its transition; `widths` = output width per branch so far.
        widths = [layer1_width]
        for index, name in enumerate(STAGE_NAMES):
            block, num_modules, num_blocks, num_channels = _stage_settings(extra, name)
            next_widths = [c * block.expansion for c in num_channels]
            if index > 0:
                check_transition_quirk(name, widths, next_widths)
            setattr(self, f'transition{index + 1}', make_transition(widths, next_widths))
            stage, widths = make_stage(block, num_modules, num_blocks, next_widths, num_channels,
                                       multi_scale_output=name != 'STAGE4')
            setattr(self, f'stage{index + 2}', stage)

        self.final_layers = self._make_final_layers(extra, widths[0])
        self.deconv_layers = self._make_deconv_layers(extra, widths[0])

    def _make_final_layers(self, extra, in_channels):
        kernel = _read(extra, 'FINAL_CONV_KERNEL')
        padding = 1 if kernel == 3 else 0
        deconv_widths = _read(extra, 'DECONV', 'NUM_CHANNELS')
        widths = [in_channels] + [deconv_widths[s] for s in range(self.num_deconvs)]
        return nn.ModuleList(
            nn.Conv2d(width, out, kernel_size=kernel, stride=1, padding=padding)
            for width, out in zip(widths, self.out_channels)
        )

    def _make_deconv_layers(self, extra, in_channels):
        deconv_widths = _read(extra, 'DECONV', 'NUM_CHANNELS')
        kernels = _read(extra, 'DECONV', 'KERNEL_SIZE')
        num_basic_blocks = _read(extra, 'DECONV', 'NUM_BASIC_BLOCKS')
        layers = []
        for s in range(self.num_deconvs):
            if self.cat_output[s]:
                in_channels += self.out_channels[s]  # the previous prediction is concatenated after the features
            width, kernel = deconv_widths[s], kernels[s]
            if kernel not in DECONV_PADDING:
                raise ModelConfigError(f"MODEL.EXTRA.DECONV.KERNEL_SIZE[{s}] is {kernel!r}; "
                                       f"expected one of {tuple(DECONV_PADDING)}")
            padding, output_padding = DECONV_PADDING[kernel]
            upsample = nn.Sequential(
                nn.ConvTranspose2d(in_channels, width, kernel_size=kernel, stride=2, padding=padding,
                                   output_padding=output_padding, bias=False),
                batch_norm(width),
                nn.ReLU(inplace=True),
            )
            blocks = [nn.Sequential(BasicBlock(width, width)) for _ in range(num_basic_blocks)]
            layers.append(nn.Sequential(upsample, *blocks))
            in_channels = width
        return nn.ModuleList(layers)

    def init_weights(self):
        """Official initialisation (algorithm.md §2.8): convs and transposed convs N(0, 0.001), zero bias;
        BN 1 / 0."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, std=0.001)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)

    @staticmethod
    def _next_stage_inputs(transitions, branch_outputs):
        # Official rule [Q] (algorithm.md §2.3): every non-None transition reads the previous stage's LAST branch.
        return [branch_outputs[i] if t is None else t(branch_outputs[-1]) for i, t in enumerate(transitions)]

    def forward(self, images):
        x = self.relu(self.bn1(self.conv1(images)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.layer1(x)

        branches = [x if t is None else t(x) for t in self.transition1]
        branches = self.stage2(branches)
        branches = self.stage3(self._next_stage_inputs(self.transition2, branches))
        branches = self.stage4(self._next_stage_inputs(self.transition3, branches))
        features = branches[0]  # stride 4

        prediction = self.final_layers[0](features)
        outputs = [prediction]
        for s in range(self.num_deconvs):
            if self.cat_output[s]:
                features = torch.cat((features, prediction), dim=1)
            features = self.deconv_layers[s](features)
            prediction = self.final_layers[s + 1](features)
            outputs.append(prediction)
        return outputs
