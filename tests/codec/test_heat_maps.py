"""Lazy projected heatmaps (codec/heat_maps.py): bit-identical to the official det, and to its decoding."""
import numpy as np
import pytest
import torch

from higherhrnet.codec import (ProjectedHeatmaps, aggregate_stage_outputs, build_projected_heatmaps,
                               build_projected_tag_maps, parse, refinement)
from higherhrnet.codec.heat_maps import pass_heatmaps
from higherhrnet.keypoints import COCO_FLIP_INDEX

from codec_helpers import STAGE_SWITCHES, decoder_inputs, raw_outputs
from perfect_maps import crowd_joints, image_case, perfect_stage_outputs
from test_tag_maps import LAYOUTS, materialised_tags, random_case, random_outputs

HEAT_SWITCHES = dict(with_heatmaps_loss=STAGE_SWITCHES["with_heatmaps_loss"],
                     test_with_heatmaps=STAGE_SWITCHES["test_with_heatmaps"])
TAG_SWITCHES = dict(with_heatmaps_loss=STAGE_SWITCHES["with_heatmaps_loss"],
                    with_ae_loss=STAGE_SWITCHES["with_ae_loss"], test_with_ae=STAGE_SWITCHES["test_with_ae"],
                    flip_index=COCO_FLIP_INDEX, tag_per_joint=True, drop_center=False, num_scales=1)


def bits(array):
    array = array.numpy() if isinstance(array, torch.Tensor) else array
    return np.ascontiguousarray(array, dtype=np.float32).view(np.int32)


def lazy_maps(outputs, flipped, base_size):
    det = build_projected_heatmaps(outputs, flipped, num_joints=17, flip_index=COCO_FLIP_INDEX, drop_center=False,
                                   project_to_size=base_size, **HEAT_SWITCHES)
    tags = build_projected_tag_maps(outputs, flipped, num_joints=17, project_to_size=base_size, **TAG_SWITCHES)
    return det, tags


@pytest.mark.parametrize("height,width,flip", LAYOUTS)
def test_lazy_heatmaps_equal_the_official_det_bit_for_bit(height, width, flip):
    outputs, flipped, base_size, (det, _) = random_case(height, width, flip)
    heatmaps, _ = aggregate_stage_outputs(outputs, flipped, num_joints=17, flip_index=COCO_FLIP_INDEX,
                                          project_to_size=None, with_tags=False, **STAGE_SWITCHES)
    for official, ours in zip(heatmaps, pass_heatmaps(outputs, flipped, num_joints=17, flip_index=COCO_FLIP_INDEX,
                                                      **HEAT_SWITCHES)):
        assert np.array_equal(bits(official[0]), bits(ours))
    lazy, _ = lazy_maps(outputs, flipped, base_size)
    assert isinstance(lazy, ProjectedHeatmaps) and lazy.shape == tuple(det.shape)
    assert np.array_equal(bits(lazy.full()), bits(det))
    rng = np.random.default_rng(0)
    joints = rng.integers(0, 17, 500)
    ys = np.concatenate([rng.integers(0, 4 * height, 496), [0, 4 * height - 1, 0, 4 * height - 1]])
    xs = np.concatenate([rng.integers(0, 4 * width, 496), [0, 0, 4 * width - 1, 4 * width - 1]])
    assert np.array_equal(bits(lazy.at(joints, ys, xs)), bits(det[0, joints, ys, xs]))
    for joint in (0, 5, 16):
        assert np.array_equal(bits(lazy.joint_map(joint)), bits(det[0, joint]))


def test_block_bounds_hold():
    outputs = [o * 0.3 for o in random_outputs(1, 64, 96)]
    flipped = [o * 0.3 for o in random_outputs(2, 64, 96)]
    det, _ = materialised_tags(outputs, flipped, (384, 256))
    lazy, _ = lazy_maps(outputs, flipped, (384, 256))
    det = det[0].numpy()
    block_h, block_w = lazy.block_shape
    for threshold, margin in ((0.5, 0), (0.7, 2), (0.9, 2)):
        blocks = lazy.blocks_above(threshold, margin)
        # every pixel above the threshold, and every pixel within `margin` of one, lies in a flagged block
        joint, y, x = np.nonzero(det > threshold)
        for dy in range(-margin, margin + 1):
            for dx in range(-margin, margin + 1):
                ny, nx = np.clip(y + dy, 0, det.shape[1] - 1), np.clip(x + dx, 0, det.shape[2] - 1)
                assert blocks[joint, ny // block_h, nx // block_w].all()
        assert not blocks.all()
    for joint in range(17):
        upper = lazy.block_max(joint)
        ys, xs = np.mgrid[0:det.shape[1], 0:det.shape[2]]
        assert (det[joint] <= upper[ys // block_h, xs // block_w]).all()


def test_unsupported_layouts_fall_back():
    outputs = random_outputs(1, 64, 64)
    common = dict(num_joints=17, flip_index=COCO_FLIP_INDEX, drop_center=False, **HEAT_SWITCHES)
    assert build_projected_heatmaps(outputs, None, project_to_size=(256, 256), **common) is not None
    assert build_projected_heatmaps(outputs, None, project_to_size=(300, 256), **common) is None  # not 2x
    assert build_projected_heatmaps(outputs, None, project_to_size=None, **common) is None
    assert build_projected_heatmaps(outputs, None, project_to_size=(256, 256), **dict(common, drop_center=True)) is None
    small = random_outputs(1, 30, 30)  # pass maps of 60 pixels: under MIN_SIDE
    assert build_projected_heatmaps(small, None, project_to_size=(120, 120), **common) is None


def perfect_case(joints, size_wh, seed=0):
    """Stage outputs of a "perfect" network for persons at joints (K, 17, 3) in input pixels (flip test)."""
    return perfect_stage_outputs(joints, size_wh, COCO_FLIP_INDEX, amplitude_step=0.02, seed=seed)


def assert_same_decoding(outputs, flipped, base_size, thresholds=(0.1,)):
    det, tags = materialised_tags(outputs, flipped, base_size)
    for threshold in thresholds:
        lazy_det, lazy_tags = lazy_maps(outputs, flipped, base_size)
        grouped, scores = parse(det, tags, detection_threshold=threshold)
        grouped_lazy, scores_lazy = parse(lazy_det, lazy_tags, detection_threshold=threshold)
        assert np.array_equal(grouped[0], grouped_lazy[0]) and np.array_equal(scores, scores_lazy)
    return grouped[0]


@pytest.mark.parametrize("flip", [True, False])
def test_decoding_lazy_maps_equals_decoding_the_official_maps_on_fixture_a(pipeline_a, flip):
    outputs = raw_outputs(pipeline_a, 0, 0)
    flipped = raw_outputs(pipeline_a, 0, 1) if flip else None
    base_size = tuple(int(v) for v in pipeline_a["base_size_wh"])
    det, tags = decoder_inputs(pipeline_a, flip=flip)
    lazy_det, lazy_tags = lazy_maps(outputs, flipped, base_size)
    assert lazy_det is not None and lazy_tags is not None
    # a low threshold gives many candidates and many missing joints for refine to search
    for threshold in (0.1, 0.02):
        lazy_det, lazy_tags = lazy_maps(outputs, flipped, base_size)
        grouped, scores = parse(det, tags, detection_threshold=threshold)
        grouped_lazy, scores_lazy = parse(lazy_det, lazy_tags, detection_threshold=threshold)
        assert np.array_equal(grouped[0], grouped_lazy[0]) and np.array_equal(scores, scores_lazy)
        assert len(grouped[0]) > 0
    reference, _ = parse(*lazy_maps(outputs, flipped, base_size), fast=False)
    assert np.array_equal(reference[0], parse(det, tags, fast=False)[0][0])


@pytest.mark.parametrize("num_persons,seed", [(1, 0), (3, 1), (8, 2), (20, 3)])
def test_decoding_lazy_maps_of_perfect_crowds(num_persons, seed, monkeypatch):
    """Perfect stage outputs (flat zero maps for absent joints, exact ties) through both decoders; the lazy
    refine search runs on every case."""
    calls = []
    search = refinement._best_pixels_lazy
    monkeypatch.setattr(refinement, "_best_pixels_lazy", lambda *args: calls.append(1) or search(*args))
    size_wh = (512, 384)
    joints = crowd_joints(num_persons, size_wh, seed=seed)
    outputs, flipped = perfect_case(joints, size_wh, seed=seed)
    persons = assert_same_decoding(outputs, flipped, size_wh, thresholds=(0.1, 0.0))
    assert len(persons) >= max(1, num_persons // 2) and calls


def test_decoding_lazy_maps_of_noisy_outputs():
    """Random stage outputs: negative heat, many pixels above the threshold (the dense fallbacks too)."""
    outputs, flipped = random_outputs(5, 64, 96), random_outputs(6, 64, 96)
    for scale in (0.05, 0.3):
        scaled = [o * scale for o in outputs]
        assert_same_decoding(scaled, [o * scale for o in flipped], (384, 256), thresholds=(0.1, 0.5))


@pytest.mark.parametrize("stage,channel,y,x,value", [(1, 3, 10, 10, float("nan")),   # heat of joint 3
                                                     (1, 7, 0, 5, float("-inf")),    # heat on the border
                                                     (0, 17 + 5, 4, 4, float("inf"))])  # tag of joint 5
def test_non_finite_maps_fall_back_to_the_materialised_search(stage, channel, y, x, value):
    joints = crowd_joints(3, (384, 256), seed=4)
    outputs, flipped = perfect_case(joints, (384, 256))
    outputs[stage][0, channel, y, x] = value
    det, tags = materialised_tags(outputs, flipped, (384, 256))
    lazy_det, lazy_tags = lazy_maps(outputs, flipped, (384, 256))
    grouped, scores = parse(det, tags)
    grouped_lazy, scores_lazy = parse(lazy_det, lazy_tags)
    assert np.array_equal(grouped[0], grouped_lazy[0], equal_nan=True) and np.array_equal(scores, scores_lazy)


def test_image_case_maps_decode_identically(shared):
    """The benchmark's ground-truth maps of a COCO sample image, through the pipeline aggregation."""
    import json
    annotations = json.loads((shared / "data/coco_sample/annotations/person_keypoints_val2017.json").read_text())
    image = annotations["images"][0]
    people = [a for a in annotations["annotations"] if a["image_id"] == image["id"]]
    case = image_case((image["height"], image["width"], 3), people, 512)
    outputs, flipped = perfect_stage_outputs(case["joints"], case["heatmap_size"], COCO_FLIP_INDEX,
                                             amplitude_step=case["amplitude_step"])
    assert_same_decoding(outputs, flipped, case["heatmap_size"], thresholds=(0.1, 0.02))
