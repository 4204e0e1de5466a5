"""Weight files in every official format load strictly; bad files give one-line CheckpointErrors."""
import numpy as np
import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.data.image_io import to_input_tensor
from higherhrnet.models import CheckpointError, build_model, load_model_weights, read_state_dict

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

# fp16 weights round each value to 11 significant bits (relative 2**-11 ~ 4.9e-4); through the network the
# outputs move by ~1e-3 of their largest magnitude. Accept 4e-3 of it (about 8 fp16 steps).
FP16_RELATIVE_TOLERANCE = 4e-3


@pytest.fixture(scope='module')
def tiny_cfg(shared):
    return load_config(str(shared / 'tiny' / 'tiny_coco.yaml'))


@pytest.fixture(scope='module')
def tiny_state(shared):
    return torch.load(shared / 'tiny' / 'tiny_coco.pth', map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def images(shared):
    image0 = np.load(shared / 'tiny' / 'pipeline' / 'a_flip_single_scale' / 'image0.npz')
    return to_input_tensor(image0['s0_image_resized'])[None]


@pytest.fixture(scope='module')
def reference_outputs(tiny_cfg, shared, images):
    model = load_model_weights(build_model(tiny_cfg).eval(), shared / 'tiny' / 'tiny_coco.pth')
    with torch.no_grad():
        return model(images)


def _outputs(cfg, path, images):
    model = load_model_weights(build_model(cfg).eval(), path)
    with torch.no_grad():
        return model(images)


def _one_line_error(callable_, *args):
    with pytest.raises(CheckpointError) as info:
        callable_(*args)
    message = str(info.value)
    assert '\n' not in message and len(message) < 600, message
    return message


def test_fp16_wrapper_format_loads(tmp_path, tiny_cfg, tiny_state, images, reference_outputs):
    path = tmp_path / 'fp16_wrapped.pth'
    torch.save({'1.' + k: (v.half() if v.is_floating_point() else v) for k, v in tiny_state.items()}, path)
    state = read_state_dict(path)
    assert list(state) == list(tiny_state)
    assert all(v.dtype == torch.float32 for k, v in state.items() if not k.endswith('num_batches_tracked'))
    for output, reference in zip(_outputs(tiny_cfg, path, images), reference_outputs):
        error = (output - reference).abs().max().item()
        assert 0 < error <= FP16_RELATIVE_TOLERANCE * reference.abs().max().item()


@pytest.mark.parametrize('wrap', ['module_prefix', 'module_and_fp16_prefix', 'training_checkpoint',
                                  'best_state_dict_only', 'model_entry'])
def test_wrapped_formats_load_exactly(tmp_path, wrap, tiny_cfg, tiny_state, images, reference_outputs):
    if wrap == 'module_prefix':
        obj = {'module.' + k: v for k, v in tiny_state.items()}
    elif wrap == 'module_and_fp16_prefix':
        obj = {'module.1.' + k: v for k, v in tiny_state.items()}
    elif wrap == 'training_checkpoint':  # official: `model` holds the model NAME, not weights
        obj = {'epoch': 3, 'model': 'pose_higher_hrnet', 'state_dict': tiny_state, 'best_state_dict': tiny_state,
               'perf': 0.1, 'optimizer': {'state': {}, 'param_groups': [{'lr': 0.001, 'params': [0]}]}}
    elif wrap == 'best_state_dict_only':
        obj = {'epoch': 3, 'model': 'pose_higher_hrnet', 'best_state_dict': tiny_state}
    else:
        obj = {'model': tiny_state}
    path = tmp_path / f'{wrap}.pth.tar'
    torch.save(obj, path)
    for output, reference in zip(_outputs(tiny_cfg, path, images), reference_outputs):
        assert torch.equal(output, reference)


def test_missing_file(tmp_path, tiny_cfg):
    path = tmp_path / 'absent.pth'
    assert _one_line_error(load_model_weights, build_model(tiny_cfg), path) == f'{path}: checkpoint file not found'


def test_not_a_torch_file(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('these are not weights\n' * 50)
    message = _one_line_error(read_state_dict, path)
    assert message.startswith(str(path)) and 'not a readable PyTorch weights file' in message


def test_pickled_objects_are_refused_with_a_hint(tmp_path):
    path = tmp_path / 'legacy.pth.tar'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'optimizer': object()}, path)
    assert 'pickles Python objects' in _one_line_error(read_state_dict, path)


def test_no_state_dict_inside(tmp_path):
    path = tmp_path / 'meta.pth'
    torch.save({'epoch': 1, 'model': 'pose_higher_hrnet'}, path)
    message = _one_line_error(read_state_dict, path)
    assert 'no state dict found' in message and 'epoch' in message


def test_tiny_weights_into_w32_model(repo, shared):
    cfg = load_config(str(repo / 'experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml'))
    path = shared / 'tiny' / 'tiny_coco.pth'
    message = _one_line_error(load_model_weights, build_model(cfg), path)
    assert message.startswith(str(path)) and 'do not fit the model' in message
    # tiny has fewer modules (missing keys) and narrower branches (wrong shapes); the stem fits
    assert 'missing [' in message and 'wrong shape [' in message
    assert 'transition1.0.0.weight (file 8x256x3x3, model 32x256x3x3)' in message


def test_crowdpose_head_into_coco_model(tmp_path, shared, tiny_cfg):
    crowd_cfg = load_config(str(shared / 'tiny' / 'tiny_coco.yaml'),
                            ['MODEL.NUM_JOINTS', '14', 'DATASET.NUM_JOINTS', '14', 'DATASET.DATASET', 'crowd_pose_kpt',
                             'DATASET.DATASET_TEST', 'crowd_pose'])
    path = tmp_path / 'crowd.pth'
    torch.save(build_model(crowd_cfg).state_dict(), path)
    message = _one_line_error(load_model_weights, build_model(tiny_cfg), path)
    assert '5 wrong shape [' in message  # final_layers.{0,1}.{weight,bias} and the deconv input width
    assert 'final_layers.0.weight (file 28x8x1x1, model 34x8x1x1)' in message
    assert 'missing' not in message and 'unexpected' not in message


def test_unexpected_keys_are_reported(tmp_path, tiny_cfg, tiny_state):
    path = tmp_path / 'extra.pth'
    torch.save({**tiny_state, 'classifier.weight': torch.zeros(3), 'classifier.bias': torch.zeros(3)}, path)
    message = _one_line_error(load_model_weights, build_model(tiny_cfg), path)
    assert '2 unexpected [classifier.weight, classifier.bias]' in message


def test_dataparallel_wrapper_is_looked_through(shared, tiny_cfg, tiny_state):
    wrapped = torch.nn.DataParallel(build_model(tiny_cfg))
    load_model_weights(wrapped, shared / 'tiny' / 'tiny_coco.pth')
    assert torch.equal(wrapped.module.final_layers[1].weight, tiny_state['final_layers.1.weight'])
