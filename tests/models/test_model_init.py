"""Official initialisation, MODEL.PRETRAINED / PRETRAINED_LAYERS loading (algorithm.md §2.8), devices, no hard CUDA."""
import logging
import re

import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.models import CheckpointError, DeviceError, build_model, resolve_device

BACKBONE = str(['conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'stage2', 'transition2', 'stage3',
               'transition3', 'stage4'])


@pytest.fixture(scope='module')
def tiny_state(shared):
    return torch.load(shared / 'tiny' / 'tiny_coco.pth', map_location='cpu', weights_only=True)


# a 14-joint (CrowdPose) head on the tiny COCO model's backbone
CROWDPOSE_HEAD = ['MODEL.NUM_JOINTS', '14', 'DATASET.NUM_JOINTS', '14', 'DATASET.DATASET', 'crowd_pose_kpt',
                  'DATASET.DATASET_TEST', 'crowd_pose']


def _tiny_cfg(shared, opts=()):
    return load_config(str(shared / 'tiny' / 'tiny_coco.yaml'), list(opts))


def test_official_init_when_training(shared):
    model = build_model(_tiny_cfg(shared), is_train=True)
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and module.weight.numel() > 5000:
            assert 0.0008 < module.weight.std().item() < 0.0012, name
        if isinstance(module, torch.nn.Conv2d) and module.bias is not None:
            assert torch.all(module.bias == 0), name
        if isinstance(module, torch.nn.BatchNorm2d):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0), name
            assert torch.all(module.running_var == 1) and module.momentum == 0.1 and module.eps == 1e-5


def test_no_init_for_inference_or_without_init_weights(shared):
    for model in (build_model(_tiny_cfg(shared)),
                  build_model(_tiny_cfg(shared, ['MODEL.INIT_WEIGHTS', 'False']), is_train=True)):
        assert model.conv1.weight.std().item() > 0.01  # PyTorch's default initialisation


def test_pretrained_star_copies_everything(shared, tiny_state):
    cfg = _tiny_cfg(shared, ['MODEL.PRETRAINED', str(shared / 'tiny' / 'tiny_coco.pth')])
    state = build_model(cfg, is_train=True).state_dict()
    assert all(torch.equal(state[k], v) for k, v in tiny_state.items())


def test_pretrained_layers_copy_the_backbone_only(shared, tiny_state):
    cfg = _tiny_cfg(shared, ['MODEL.PRETRAINED', str(shared / 'tiny' / 'tiny_coco.pth'),
                             *CROWDPOSE_HEAD, 'MODEL.EXTRA.PRETRAINED_LAYERS', BACKBONE])
    state = build_model(cfg, is_train=True).state_dict()
    assert torch.equal(state['stage4.1.fuse_layers.0.3.0.weight'], tiny_state['stage4.1.fuse_layers.0.3.0.weight'])
    assert torch.equal(state['bn1.running_var'], tiny_state['bn1.running_var'])
    assert torch.all(state['final_layers.0.bias'] == 0) and state['final_layers.0.bias'].shape == (28,)
    assert not torch.equal(state['deconv_layers.0.1.0.conv1.weight'], tiny_state['deconv_layers.0.1.0.conv1.weight'])


def test_pretrained_shape_conflict_is_reported(shared):
    cfg = _tiny_cfg(shared, ['MODEL.PRETRAINED', str(shared / 'tiny' / 'tiny_coco.pth'), *CROWDPOSE_HEAD])
    with pytest.raises(CheckpointError, match='final_layers.0.weight.*PRETRAINED_LAYERS'):
        build_model(cfg, is_train=True)


def test_fp16_wrapped_pretrained_file(tmp_path, shared, tiny_state):
    path = tmp_path / 'w640_style.pth'
    torch.save({'1.' + k: (v.half() if v.is_floating_point() else v) for k, v in tiny_state.items()}, path)
    state = build_model(_tiny_cfg(shared, ['MODEL.PRETRAINED', str(path)]), is_train=True).state_dict()
    assert torch.equal(state['conv1.weight'], tiny_state['conv1.weight'].half().float())


def test_missing_pretrained_file_is_a_warning(shared, tmp_path, caplog):
    cfg = _tiny_cfg(shared, ['MODEL.PRETRAINED', str(tmp_path / 'absent.pth')])
    with caplog.at_level(logging.WARNING):
        model = build_model(cfg, is_train=True)
    assert 'absent.pth does not exist' in caplog.text
    assert 0.0008 < model.layer1[0].conv2.weight.std().item() < 0.0012


def test_resolve_device():
    assert resolve_device('') == torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    assert resolve_device('cpu') == torch.device('cpu')
    with pytest.raises(DeviceError, match="'gpu0' is not a device name"):
        resolve_device('gpu0')
    if torch.cuda.is_available():
        assert resolve_device('cuda').type == 'cuda'
        with pytest.raises(DeviceError, match='CUDA device'):
            resolve_device(f'cuda:{torch.cuda.device_count()}')
    else:
        with pytest.raises(DeviceError, match='CUDA is not available'):
            resolve_device('cuda:0')


def test_no_hard_coded_cuda_calls(repo):
    for package in ('models', 'config'):
        for path in (repo / 'lib' / 'higherhrnet' / package).rglob('*.py'):
            assert not re.search(r"\.cuda\(|device=['\"]cuda", path.read_text()), path
