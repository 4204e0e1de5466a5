"""Lazy projected tag maps (codec/tag_maps.py): bit-identical to the materialised maps, and to their decoding."""
import numpy as np
import pytest
import torch

from higherhrnet.codec import build_projected_tag_maps, parse
from higherhrnet.keypoints import COCO_FLIP_INDEX

from codec_helpers import STAGE_SWITCHES, decoder_inputs, raw_outputs

SWITCHES = dict(STAGE_SWITCHES, flip_index=COCO_FLIP_INDEX, tag_per_joint=True, drop_center=False, num_scales=1)
LAZY_SWITCHES = {key: value for key, value in SWITCHES.items() if key != "test_with_heatmaps"}


def random_outputs(seed, height, width):
    """Stage outputs of one pass: (1, 34, h, w) and (1, 17, 2h, 2w), with repeated values and signed zeros."""
    generator = torch.Generator().manual_seed(seed)
    stage0 = torch.randn(1, 34, height, width, generator=generator)
    stage0[:, :, ::3, ::5] = 0.0
    stage0[:, :, 1::7, ::3] = -0.0
    return [stage0, torch.randn(1, 17, 2 * height, 2 * width, generator=generator)]


def materialised_tags(outputs, outputs_flipped, base_size_wh):
    from higherhrnet.codec import accumulate_scale, aggregate_stage_outputs, finish_aggregation
    heatmaps, tags = aggregate_stage_outputs(outputs, outputs_flipped, num_joints=17, flip_index=COCO_FLIP_INDEX,
                                             project_to_size=base_size_wh, **STAGE_SWITCHES)
    final, tags_list = accumulate_scale(None, [], heatmaps, tags, scale_factor=1.0, num_scales=1,
                                        flip_test=outputs_flipped is not None, project_to_image=True)
    return finish_aggregation(final, tags_list, 1)


# (h, w, flip) of the tag stage outputs: square, odd, wide, tall, without the flipped pass
LAYOUTS = [(64, 64, True), (65, 97, True), (128, 208, True), (64, 251, False), (199, 64, True)]


def random_case(height, width, flip):
    """Random stage outputs (flipped: None without flip), the input size (4w, 4h), and the official maps."""
    outputs = random_outputs(1, height, width)
    flipped = random_outputs(2, height, width) if flip else None
    base_size = (4 * width, 4 * height)
    return outputs, flipped, base_size, materialised_tags(outputs, flipped, base_size)


@pytest.mark.parametrize("height,width,flip", LAYOUTS)
def test_lazy_tags_equal_the_materialised_maps_bit_for_bit(height, width, flip):
    outputs, flipped, base_size, (det, tags) = random_case(height, width, flip)
    lazy = build_projected_tag_maps(outputs, flipped, num_joints=17, project_to_size=base_size, **LAZY_SWITCHES)
    assert lazy is not None and lazy.shape == tuple(tags.shape)
    assert torch.equal(lazy.full(), tags)
    rng = np.random.default_rng(0)
    joints = rng.integers(0, 17, 500)
    ys = np.concatenate([rng.integers(0, 4 * height, 496), [0, 4 * height - 1, 0, 4 * height - 1]])
    xs = np.concatenate([rng.integers(0, 4 * width, 496), [0, 0, 4 * width - 1, 4 * width - 1]])
    values = lazy.values_at(joints, ys, xs)
    assert values.dtype == np.float32
    assert np.array_equal(values, tags[0, joints, ys, xs].numpy())
    for joint in (0, 5, 16):
        assert np.array_equal(lazy.joint_map(joint), tags[0, joint].numpy())


def test_unsupported_layouts_fall_back():
    common = dict(num_joints=17, **LAZY_SWITCHES)
    small = random_outputs(1, 63, 200)  # narrow maps: PyTorch's kernel groups channels differently
    assert build_projected_tag_maps(small, None, project_to_size=(800, 252), **common) is None
    outputs = random_outputs(1, 64, 64)
    assert build_projected_tag_maps(outputs, None, project_to_size=(256, 256), **common) is not None
    assert build_projected_tag_maps(outputs, None, project_to_size=(300, 256), **common) is None  # not 2x
    assert build_projected_tag_maps(outputs, None, project_to_size=None, **common) is None
    assert build_projected_tag_maps(outputs, None, project_to_size=(256, 256),
                                    **dict(common, num_scales=3)) is None
    assert build_projected_tag_maps(outputs, None, project_to_size=(256, 256),
                                    **dict(common, tag_per_joint=False)) is None


@pytest.mark.parametrize("flip", [True, False])
def test_decoding_with_lazy_tags_equals_decoding_with_the_full_maps(pipeline_a, flip):
    outputs = raw_outputs(pipeline_a, 0, 0)
    flipped = raw_outputs(pipeline_a, 0, 1) if flip else None
    det, tags = decoder_inputs(pipeline_a, flip=flip)
    base_size = tuple(int(v) for v in pipeline_a["base_size_wh"])
    lazy = build_projected_tag_maps(outputs, flipped, num_joints=17, project_to_size=base_size, **LAZY_SWITCHES)
    # a low threshold gives many candidates and many missing joints for refine to search
    for threshold in (0.1, 0.02):
        grouped, scores = parse(det, tags, detection_threshold=threshold)
        grouped_lazy, scores_lazy = parse(det, lazy, detection_threshold=threshold)
        assert np.array_equal(grouped[0], grouped_lazy[0]) and np.array_equal(scores, scores_lazy)
        assert len(grouped[0]) > 0
    reference, _ = parse(det, lazy, fast=False)
    assert np.array_equal(reference[0], parse(det, tags, fast=False)[0][0])


@pytest.mark.parametrize("stage_factor,project_factor", [(1, 2), (2, 1), (1, 1)])
def test_other_resize_layouts_equal_the_materialised_maps(stage_factor, project_factor):
    """Tag stages at the last stage's size, and inputs at that size: values_at, joint_map and blocks."""
    height, width = 64, 72
    generator = torch.Generator().manual_seed(7)
    final_hw = (height * stage_factor, width * stage_factor)
    outputs, flipped = ([torch.randn(1, 34, height, width, generator=generator),
                         torch.randn(1, 17, *final_hw, generator=generator)] for _ in range(2))
    base_size = (final_hw[1] * project_factor, final_hw[0] * project_factor)
    _, tags = materialised_tags(outputs, flipped, base_size)
    lazy = build_projected_tag_maps(outputs, flipped, num_joints=17, project_to_size=base_size, **LAZY_SWITCHES)
    assert lazy is not None and lazy.shape == tuple(tags.shape)
    assert torch.equal(lazy.full(), tags)
    rng = np.random.default_rng(3)
    full_h, full_w = base_size[1], base_size[0]
    joints = rng.integers(0, 17, 300)
    ys = np.concatenate([rng.integers(0, full_h, 296), [0, full_h - 1, 0, full_h - 1]])
    xs = np.concatenate([rng.integers(0, full_w, 296), [0, 0, full_w - 1, full_w - 1]])
    assert np.array_equal(lazy.values_at(joints, ys, xs), tags[0, joints, ys, xs].numpy())
    assert np.array_equal(lazy.joint_map(4), tags[0, 4].numpy())
    block_h, block_w = lazy.block_shape
    blocks = lazy.blocks(np.array([2, 9]), np.array([0, 1]), np.array([0, 0]))
    expected = tags[0, 9, block_h:2 * block_h, :block_w].numpy()
    assert np.array_equal(blocks[1, :, :expected.shape[1]], expected)
