"""Test-time resize (algorithm.md §6.2) and the centre/scale affine map (algorithm.md §6.2, 6.10)."""
import numpy as np
import pytest

from higherhrnet.codec import get_multi_scale_size, resize_align_multi_scale
from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.geometry import affine_transform, get_affine_transform

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

IMAGE_785 = "data/coco_sample/images/val2017/000000000785.jpg"


@pytest.mark.parametrize("shape_hw, scales, size_wh, center, scale_wh", [
    ((480, 640), [1], (704, 512), (320, 240), (3.3, 2.4)),
    ((480, 640), [0.5, 1, 2], (768, 512), (320, 240), (3.6, 2.4)),
    ((640, 427), [1], (512, 768), (214, 320), (2.135, 3.2025)),
    ((375, 500), [1], (704, 512), (250, 188), (2.578125, 1.875)),
    ((333, 500), [1], (768, 512), (250, 167), (2.4975, 1.665)),
])
def test_multi_scale_size_matches_spec_table(shape_hw, scales, size_wh, center, scale_wh):
    image = np.zeros(shape_hw + (3,), np.uint8)
    size, image_center, scale = get_multi_scale_size(image, 512, 1.0, min(scales))
    assert size == size_wh
    assert tuple(image_center) == center
    np.testing.assert_allclose(scale, scale_wh, rtol=1e-12)


def test_multi_scale_size_other_scales_of_the_table():
    image = np.zeros((480, 640, 3), np.uint8)
    assert get_multi_scale_size(image, 512, 2.0, 0.5)[0] == (1536, 1024)
    assert get_multi_scale_size(image, 512, 0.5, 0.5)[0] == (384, 256)


def test_rounding_is_not_a_ceiling():
    """floor((x + 63) / 64) * 64 keeps 64 for x = 64.4 where a ceiling would give 128 (algorithm.md §6.2)."""
    # Landscape, S_m = 64: the long side is 64 / 1000 * 1007 = 64.448 before rounding.
    image = np.zeros((1000, 1007, 3), np.uint8)
    assert get_multi_scale_size(image, 64, 1.0, 1.0)[0] == (64, 64)


def test_bad_arguments_raise_one_line_errors():
    with pytest.raises(ValueError, match="positive"):
        get_multi_scale_size(np.zeros((10, 10, 3)), 512, 0.0, 1.0)
    with pytest.raises(ValueError, match="image"):
        get_multi_scale_size(np.zeros(5), 512, 1.0, 1.0)
    with pytest.raises(ValueError, match="scale_w"):
        get_affine_transform((1, 1), (0.0, 1.0), 0, (64, 64))


def test_resize_of_the_real_image_is_bit_exact(shared, pipeline_a, pipeline_b):
    image = read_image_rgb(shared / IMAGE_785)
    assert image.shape == tuple(pipeline_a["image_shape"])
    assert int(image.astype(np.int64).sum()) == int(pipeline_a["image_sum"])
    base_size, base_center, base_scale = get_multi_scale_size(image, 256, 1.0, 1.0)
    assert base_size == tuple(pipeline_a["base_size_wh"]) == (448, 256)
    np.testing.assert_array_equal(base_center, pipeline_a["base_center"])
    np.testing.assert_array_equal(base_scale, pipeline_a["base_scale"])

    resized, center, scale = resize_align_multi_scale(image, 256, 1.0, 1.0)
    assert resized.dtype == np.uint8
    np.testing.assert_array_equal(resized, pipeline_a["s0_image_resized"])
    np.testing.assert_array_equal(resized, pipeline_b["s0_image_resized"])
    np.testing.assert_array_equal(center, pipeline_a["s0_center"])
    np.testing.assert_array_equal(scale, pipeline_a["s0_scale"])


def test_multi_scale_geometry_of_the_real_image(shared, pipeline_c):
    """Scales [0.5, 1, 2]: sizes rounded at 0.5 then multiplied; base size 384x256 (not 448x256)."""
    image = read_image_rgb(shared / IMAGE_785)
    assert tuple(pipeline_c["scale_factors_in_order"]) == (2.0, 1.0, 0.5)
    base_size, base_center, base_scale = get_multi_scale_size(image, 256, 1.0, 0.5)
    assert base_size == tuple(pipeline_c["base_size_wh"]) == (384, 256)
    np.testing.assert_array_equal(base_center, pipeline_c["base_center"])
    np.testing.assert_array_equal(base_scale, pipeline_c["base_scale"])

    expected_shapes = {0: (512, 768, 3), 1: (256, 384, 3), 2: (128, 192, 3)}
    for index, scale_factor in enumerate((2.0, 1.0, 0.5)):
        resized, center, scale = resize_align_multi_scale(image, 256, scale_factor, 0.5)
        assert resized.shape == expected_shapes[index]
        np.testing.assert_array_equal(center, pipeline_c[f"s{index}_center"])
        np.testing.assert_array_equal(scale, pipeline_c[f"s{index}_scale"])
        if f"s{index}_image_resized" in pipeline_c:
            np.testing.assert_array_equal(resized, pipeline_c[f"s{index}_image_resized"])
        else:  # stored as a digest
            assert resized.shape == tuple(pipeline_c[f"s{index}_image_resized.shape"])
            as_float = resized.astype(np.float64)
            assert as_float.sum() == pipeline_c[f"s{index}_image_resized.sum"]
            assert (as_float ** 2).sum() == pipeline_c[f"s{index}_image_resized.sqsum"]
            np.testing.assert_array_equal(as_float.sum(axis=(0, 2)), pipeline_c[f"s{index}_image_resized.chsum"])


def test_affine_map_is_the_isotropic_centre_scale_map():
    center, scale, size = np.array([320, 213]), np.array([3.71875, 2.125]), (448, 256)
    matrix = get_affine_transform(center, scale, 0, size)
    factor = size[0] / (200 * scale[0])
    np.testing.assert_allclose(matrix[:, :2], [[factor, 0], [0, factor]], atol=1e-6)
    np.testing.assert_allclose(affine_transform(center, matrix), (size[0] / 2, size[1] / 2), atol=1e-4)


def test_rotation_turns_the_source_up_vector():
    """With rot = 90 the image direction +x (length scale_w * 100) maps to the output's up vector."""
    center, scale, size = np.array([100, 80]), np.array([2.0, 2.0]), (128, 96)
    matrix = get_affine_transform(center, scale, 90, size)
    np.testing.assert_allclose(affine_transform(center + np.array([200.0, 0.0]), matrix),
                               (64, 48 - 64), atol=1e-3)


@pytest.mark.parametrize("size", [(448, 256), (128, 64), (1536, 1024)])
def test_back_projection_round_trip(size):
    """image point -> forward affine -> inverse affine is the identity within 1e-3 px."""
    rng = np.random.default_rng(0)
    center, scale = np.array([320, 213]), np.array([size[0] / size[1] * 2.125, 2.125])
    forward = get_affine_transform(center, scale, 0, size)
    inverse = get_affine_transform(center, scale, 0, size, inv=True)
    for point in rng.uniform(-50, 700, size=(50, 2)):
        back = affine_transform(affine_transform(point, forward), inverse)
        np.testing.assert_allclose(back, point, atol=1e-3)
