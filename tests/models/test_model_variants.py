"""Architectures other than the official ones: every MODEL.EXTRA option the official code accepts."""
import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.models import (BasicBlock, HighResolutionModule, ModelConfigError, PoseHigherResolutionNet,
                                build_model)


@pytest.fixture
def tiny_yaml(shared):
    return str(shared / 'tiny' / 'tiny_coco.yaml')


def _forward(cfg, height=64, width=96):
    model = build_model(cfg).eval()
    with torch.no_grad():
        return model, model(torch.randn(1, 3, height, width))


def test_single_tag_map(tiny_yaml):
    model, (stage0, stage1) = _forward(load_config(tiny_yaml, ['MODEL.TAG_PER_JOINT', 'False']))
    assert stage0.shape == (1, 18, 16, 24) and stage1.shape == (1, 17, 32, 48)
    assert model.deconv_layers[0][0][0].weight.shape == (8 + 18, 8, 4, 4)


def test_without_cat_output(tiny_yaml):
    model, (stage0, stage1) = _forward(load_config(tiny_yaml, ['MODEL.EXTRA.DECONV.CAT_OUTPUT', '[False]']))
    assert model.deconv_layers[0][0][0].weight.shape == (8, 8, 4, 4)
    assert stage1.shape == (1, 17, 32, 48)


@pytest.mark.parametrize('kernel', [2, 3, 4])
def test_deconv_kernels_double_the_resolution(tiny_yaml, kernel):
    model, (stage0, stage1) = _forward(load_config(tiny_yaml, ['MODEL.EXTRA.DECONV.KERNEL_SIZE', f'[{kernel}]']))
    assert model.deconv_layers[0][0][0].kernel_size == (kernel, kernel)
    assert stage1.shape[-2:] == (2 * stage0.shape[-2], 2 * stage0.shape[-1])


def test_final_conv_kernel_3_keeps_the_size(tiny_yaml):
    model, (stage0, stage1) = _forward(load_config(tiny_yaml, ['MODEL.EXTRA.FINAL_CONV_KERNEL', '3']))
    assert model.final_layers[0].weight.shape == (34, 8, 3, 3) and model.final_layers[0].padding == (1, 1)
    assert stage0.shape == (1, 34, 16, 24)


def test_two_deconvs_give_three_stages(tiny_yaml, three_stage_opts):
    opts = three_stage_opts([64, 128, 256], [8, 4], [4, 3], [True, False, True])
    model, outputs = _forward(load_config(tiny_yaml, opts))
    assert [tuple(o.shape) for o in outputs] == [(1, 34, 16, 24), (1, 17, 32, 48), (1, 34, 64, 96)]
    assert model.deconv_layers[1][0][0].weight.shape == (8 + 17, 4, 3, 3)  # features + stage-1 heatmaps


def test_bottleneck_branches(tiny_yaml):
    opts = [item for stage in ('STAGE2', 'STAGE3', 'STAGE4') for item in (f'MODEL.EXTRA.{stage}.BLOCK', 'BOTTLENECK')]
    model, (stage0, _) = _forward(load_config(tiny_yaml, opts))
    state = model.state_dict()
    assert state['transition1.0.0.weight'].shape == (32, 256, 3, 3)  # 8 channels x expansion 4
    assert state['stage2.0.branches.0.0.conv3.weight'].shape == (32, 8, 1, 1)
    assert not any('stage2.0.branches.0.0.downsample' in k for k in state)  # input already 4 x 8 wide
    assert not any(k.startswith(('transition2.0', 'transition2.1')) for k in state)  # widths unchanged
    assert state['transition2.2.0.0.weight'].shape == (128, 64, 3, 3)
    assert state['final_layers.0.weight'].shape == (34, 32, 1, 1)
    assert stage0.shape == (1, 34, 16, 24)


def test_transition_quirk_is_rejected_at_build(tiny_yaml):
    cfg = load_config(tiny_yaml)
    cfg.defrost()
    cfg.MODEL.EXTRA.STAGE3.NUM_CHANNELS = [12, 16, 32]  # branch 0 changes width between stages 2 and 3
    with pytest.raises(ModelConfigError, match='STAGE3 branch 0.*B23'):
        build_model(cfg)


def test_extra_as_plain_dict_and_missing_keys(tiny_yaml):
    extra = load_config(tiny_yaml).MODEL.EXTRA
    plain = {k: (dict(v) if isinstance(v, dict) else v) for k, v in extra.items()}
    model = PoseHigherResolutionNet(plain, num_joints=17, tag_per_joint=True, with_ae_loss=[True, False])
    assert len(model.state_dict()) == 562  # FIXTURES 2: the tiny model's state-dict size
    del plain['DECONV']
    with pytest.raises(ModelConfigError, match=r'MODEL.EXTRA.DECONV is missing'):
        PoseHigherResolutionNet(plain, num_joints=17)


def test_unknown_model_name(tiny_yaml):
    with pytest.raises(ModelConfigError, match="'pose_resnet'.*pose_higher_hrnet"):
        build_model(load_config(tiny_yaml, ['MODEL.NAME', 'pose_resnet']))


def test_single_branch_module_has_no_fusion():
    module = HighResolutionModule(BasicBlock, [1], [8], [8]).eval()
    assert module.fuse_layers is None and not any('fuse' in k for k in module.state_dict())
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        assert torch.equal(module([x])[0], module.branches[0](x))


def test_fusion_sums_every_branch_then_relu():
    module = HighResolutionModule(BasicBlock, [1, 1], [4, 8], [4, 8]).eval()
    assert len(module.fuse_layers) == 2 and module.fuse_layers[0][0] is None
    x = [torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4)]
    with torch.no_grad():
        y = module(x)
        branch0, branch1 = module.branches[0](x[0]), module.branches[1](x[1])
        expected0 = torch.relu(branch0 + module.fuse_layers[0][1](branch1))
        expected1 = torch.relu(module.fuse_layers[1][0](branch0) + branch1)
    assert torch.equal(y[0], expected0) and torch.equal(y[1], expected1)
    single = HighResolutionModule(BasicBlock, [1, 1], [4, 8], [4, 8], multi_scale_output=False)
    assert len(single.fuse_layers) == 1
