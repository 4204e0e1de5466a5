"""Flip test with a custom layout: the maps of a mirrored image, mirrored back with the layout's pairs swapped,
equal the maps of the original (both passes of the flip test see the same two images, in the other order)."""
import dataclasses

import torch

from higherhrnet.config import load_config
from higherhrnet.engine.inference import InferenceSettings, PosePipeline

EXPERIMENT = "experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml"


class TwoStageNetwork(torch.nn.Module):
    """A small random network with HigherHRNet's outputs: (1, 2J, h, w) heatmaps + tags, (1, J, 2h, 2w)."""

    def __init__(self, num_joints):
        super().__init__()
        torch.manual_seed(0)
        self.first = torch.nn.Conv2d(3, 2 * num_joints, 5, stride=4, padding=2)
        self.second = torch.nn.Conv2d(3, num_joints, 3, stride=2, padding=1)

    def forward(self, x):
        return [self.first(x), self.second(x)]


def _maps(pipeline, image):
    outputs, flipped = pipeline.forward(image)
    return pipeline.aggregate([(1.0, outputs, flipped)], base_size=(image.shape[3], image.shape[2]))


def test_mirrored_image_gives_the_mirrored_maps_with_the_layout_pairs():
    settings = InferenceSettings.from_config(load_config(EXPERIMENT))
    assert settings.flip_test and settings.flip_index == (1, 0, 3, 2, 5, 4, 7, 6, 9, 8)
    assert settings.decoder.joint_order == (0, 1, 6, 7, 2, 3, 4, 5, 8, 9)
    network = TwoStageNetwork(settings.num_joints)
    image = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    mirror = torch.flip(image, [3])
    swap = list(settings.flip_index)

    heatmaps, tags = _maps(PosePipeline(network, settings, "cpu"), image)
    mirrored_heatmaps, mirrored_tags = _maps(PosePipeline(network, settings, "cpu"), mirror)
    torch.testing.assert_close(torch.flip(mirrored_heatmaps, [3])[:, swap], heatmaps, rtol=0, atol=1e-6)
    # tag channel 0 is the pass on the given image, channel 1 the flipped pass: mirroring swaps them
    torch.testing.assert_close(torch.flip(mirrored_tags, [3])[:, swap].flip(-1), tags, rtol=0, atol=1e-6)

    persons, _ = PosePipeline(network, settings, "cpu").decode(heatmaps, tags, [48, 32], [0.48, 0.32])
    assert persons and persons[0].shape[0] == 10

    wrong = dataclasses.replace(settings, flip_index=(0, 1, 3, 2, 5, 4, 7, 6, 9, 8))  # pair [0, 1] left out
    wrong_heatmaps, _ = _maps(PosePipeline(network, wrong, "cpu"), image)
    wrong_mirrored, _ = _maps(PosePipeline(network, wrong, "cpu"), mirror)
    assert not torch.allclose(torch.flip(wrong_mirrored, [3])[:, swap], wrong_heatmaps, atol=1e-3)
