"""Forward parity with the official network on the tiny trained model (FIXTURES 2a, setting a)."""
import numpy as np
import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.data.image_io import to_input_tensor
from higherhrnet.models import build_model, load_model_weights

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)


@pytest.fixture(scope='module')
def tiny(shared):
    cfg = load_config(str(shared / 'tiny' / 'tiny_coco.yaml'))
    model = build_model(cfg).eval()
    load_model_weights(model, shared / 'tiny' / 'tiny_coco.pth')
    return model


@pytest.fixture(scope='module')
def image0(shared):
    return dict(np.load(shared / 'tiny' / 'pipeline' / 'a_flip_single_scale' / 'image0.npz'))


def test_forward_reproduces_official_outputs(tiny, image0):
    images = to_input_tensor(image0['s0_image_resized'])[None]
    assert images.shape == (1, 3, 256, 448)
    with torch.no_grad():
        outputs = tiny(images)
        flipped_outputs = tiny(torch.flip(images, [3]))
    assert isinstance(outputs, list) and len(outputs) == 2
    for stage in (0, 1):
        for name, output in ((f's0_net0_out{stage}', outputs[stage]), (f's0_net1_out{stage}', flipped_outputs[stage])):
            expected = torch.from_numpy(image0[name])
            assert output.shape == expected.shape and output.dtype == torch.float32
            assert (output - expected).abs().max().item() <= 1e-5, name


def test_outputs_double_in_resolution_per_stage(tiny):
    with torch.no_grad():
        heat_tags, heatmaps = tiny(torch.zeros(2, 3, 128, 192))
    assert heat_tags.shape == (2, 34, 32, 48) and heatmaps.shape == (2, 17, 64, 96)
