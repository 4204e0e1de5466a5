"""Transforms: fast paths equal the plain ones, the affine geometry, the flip quirk and EXACT_FLIP."""
import cv2
import numpy as np
import pytest
import torch

from data_loop_reference import loop_sample
from higherhrnet.codec import HeatmapGenerator, JointsGenerator
from higherhrnet.data import (AugmentationParams, affine_matrix, apply_augmentation, crop_center_scale, to_input_tensor,
                              to_input_tensor_fast)
from higherhrnet.data.transforms import warp_image
from higherhrnet.keypoints import COCO_FLIP_INDEX


@pytest.mark.parametrize("channels", [3, 4])
def test_warp_into_own_array_equals_opencv_allocated_output(channels):
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, size=(97, 131, channels), dtype=np.uint8)
    for _ in range(5):
        center = rng.uniform((0, 0), (131, 97))
        matrix = affine_matrix(center, rng.uniform(0.2, 1.2), 64, rng.uniform(-30, 30))
        warped = warp_image(image, matrix, 64)
        assert warped.shape == (64, 64, channels) and warped.dtype == np.uint8
        np.testing.assert_array_equal(warped, cv2.warpAffine(image, matrix[:2], (64, 64)))

def test_fast_input_tensor_is_bit_identical():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    image[0, :3] = [[0, 0, 0], [255, 255, 255], [128, 64, 32]]
    expected = to_input_tensor(image)
    fast = to_input_tensor_fast(image)
    assert fast.dtype == torch.float32 and fast.shape == (3, 37, 53)
    assert torch.equal(fast, expected)
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    assert torch.equal(to_input_tensor_fast(rgba), expected)
    assert torch.equal(to_input_tensor_fast(image[:, ::-1]), to_input_tensor(image[:, ::-1]))
    with pytest.raises(ValueError, match="expected a uint8"):
        to_input_tensor_fast(image.astype(np.float32))


@pytest.mark.parametrize("seed", range(4))
def test_rgba_warp_equals_rgb_warp_for_random_affines(seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(90, 130, 3), dtype=np.uint8)
    params = AugmentationParams(aug_scale=rng.uniform(0.75, 1.5), aug_rot=rng.uniform(-30, 30),
                                dx=int(rng.integers(-20, 20)), dy=int(rng.integers(-20, 20)))
    center, scale = crop_center_scale(90, 130, params)
    matrix = affine_matrix(center, scale, 96, params.aug_rot)
    rgba = cv2.warpAffine(cv2.cvtColor(image, cv2.COLOR_RGB2RGBA), matrix[:2], (96, 96))
    np.testing.assert_array_equal(rgba[:, :, :3], cv2.warpAffine(image, matrix[:2], (96, 96)))


def test_affine_matrix_geometry():
    center, scale = np.array([320.0, 200.0]), 2.0
    matrix = affine_matrix(center, scale, 128)
    np.testing.assert_allclose(matrix @ [320, 200, 1], [64, 64, 1])  # crop centre -> map centre
    np.testing.assert_allclose(matrix @ [120, 0, 1], [0, 0, 1], atol=1e-12)  # corner of the 400-px square -> (0, 0)
    rotated = affine_matrix(center, scale, 128, 90.0)
    np.testing.assert_allclose(rotated @ [320, 200, 1], [64, 64, 1])
    # +90 deg: a point right of the centre goes up on the map (content turns counter-clockwise).
    np.testing.assert_allclose(rotated @ [420, 200, 1], [64, 32, 1], atol=1e-12)
    np.testing.assert_allclose(affine_matrix(center, scale, 512, 13.0)[:2] / 4,
                               affine_matrix(center, scale, 128, 13.0)[:2], atol=1e-12)
    assert np.array_equal(affine_matrix(center, scale, 64, -0.0), affine_matrix(center, scale, 64))


def _scene(rng, height=120, width=160, persons=4):
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    mask = np.ones((height, width), dtype=bool)
    mask[10:40, 20:70] = False
    joints = np.zeros((persons, 17, 3))
    joints[:, :, 0] = rng.uniform(-10, width + 10, size=(persons, 17))
    joints[:, :, 1] = rng.uniform(-10, height + 10, size=(persons, 17))
    joints[:, :, 2] = rng.integers(0, 3, size=(persons, 17))
    return image, mask, joints


@pytest.mark.parametrize("seed", range(6))
def test_package_sample_equals_the_loop_reference(seed):
    """Random image, mask, joints and parameters: package and straightforward loop code agree exactly."""
    rng = np.random.default_rng(100 + seed)
    image, mask, joints = _scene(rng)
    params = AugmentationParams(aug_scale=rng.uniform(0.75, 1.5), aug_rot=rng.uniform(-30, 30),
                                dx=int(rng.integers(-30, 30)), dy=int(rng.integers(-30, 30)), flip=seed % 2 == 1)
    output_sizes = [32, 64]
    augmented = apply_augmentation(cv2.cvtColor(image, cv2.COLOR_RGB2RGBA), mask, joints, params, 128,
                                   output_sizes, COCO_FLIP_INDEX)
    tensor, heatmaps, masks, tags, joints_after = loop_sample(image, mask, joints, params, 128, output_sizes,
                                                              list(COCO_FLIP_INDEX))
    assert torch.equal(to_input_tensor_fast(augmented.image), tensor)
    for s, size in enumerate(output_sizes):
        np.testing.assert_array_equal(augmented.joints[s], joints_after[s])
        np.testing.assert_array_equal(augmented.masks[s], masks[s])
        np.testing.assert_array_equal(HeatmapGenerator(size, 17, 2)(augmented.joints[s]), heatmaps[s])
        np.testing.assert_array_equal(JointsGenerator(30, 17, size)(augmented.joints[s]), tags[s])


def test_flip_quirk_and_exact_flip():
    """Official flip: x <- R - x - 1; EXACT_FLIP: x <- R - x - R/S, the true mirror of the flipped image."""
    rng = np.random.default_rng(5)
    image, mask, joints = _scene(rng)
    joints[:, :, 2] = 2
    params = AugmentationParams(aug_scale=1.1, aug_rot=7.0, dx=3, dy=-4, flip=True)
    no_flip = apply_augmentation(image, mask, joints, AugmentationParams(1.1, 7.0, 3, -4, False), 128, [32],
                                 COCO_FLIP_INDEX)
    official = apply_augmentation(image, mask, joints, params, 128, [32], COCO_FLIP_INDEX)
    exact = apply_augmentation(image, mask, joints, params, 128, [32], COCO_FLIP_INDEX, exact_flip=True)
    before = no_flip.joints[0][:, COCO_FLIP_INDEX]
    np.testing.assert_allclose(official.joints[0][:, :, 0], 32 - before[:, :, 0] - 1)
    np.testing.assert_array_equal(official.joints[0][:, :, 1], before[:, :, 1])
    # In input pixels the image flip is x_in -> S - 1 - x_in; at R = S/4 that is x -> R - 1/4 - x.
    input_x = no_flip.joints[0][:, COCO_FLIP_INDEX, 0] * 4
    np.testing.assert_allclose(exact.joints[0][:, :, 0] * 4, 128 - 1 - input_x, atol=1e-9)
    assert np.allclose(official.joints[0][:, :, 0] - exact.joints[0][:, :, 0], -0.75)
    np.testing.assert_array_equal(exact.image, official.image)  # the image flip is the same
    np.testing.assert_array_equal(official.masks[0], no_flip.masks[0][:, ::-1])
    assert not np.array_equal(exact.masks[0], official.masks[0])  # masks follow the exact mirror
    assert abs(exact.masks[0].sum() - official.masks[0].sum()) < 0.05 * official.masks[0].size
