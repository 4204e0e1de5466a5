"""Training samples against the official ones in shared/train (targets_*.npz, targets.json).

Every stored sample is rebuilt from its recorded augmentation parameters (no RNG) and compared exactly;
then drawn again with the RNGs seeded as the recording did, which must give the same draws, in the same
order, and the same sample.
"""
import functools
import json
import random

import cv2
import numpy as np
import pytest

from higherhrnet.codec import HeatmapGenerator, JointsGenerator
from higherhrnet.data import (AugmentationParams, KeypointTrainDataset, TrainAugmentation, apply_augmentation,
                              read_image_rgb, to_input_tensor_fast)
from higherhrnet.keypoints import flip_index

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

FILES = {  # fixture file -> (data root under shared/data, family, split)
    "coco_in256": ("coco_sample", "coco", "val2017"),
    "coco_in512": ("coco_sample", "coco", "val2017"),
    "crowdpose_in256": ("crowdpose_sample", "crowd_pose", "trainval"),
}
SETTINGS = ("noaug", "flip", "affine", "affine_flip")
SAMPLES = [("coco_in256", n, s) for n in range(4) for s in SETTINGS] + \
          [("crowdpose_in256", n, s) for n in range(2) for s in SETTINGS] + [("coco_in512", 0, "noaug")]


@functools.lru_cache(maxsize=None)
def _records(shared):
    return json.loads((shared / "train" / "targets.json").read_text())


@functools.lru_cache(maxsize=None)
def _arrays(shared, fixture_file):
    with np.load(shared / "train" / f"targets_{fixture_file}.npz") as data:
        return dict(data)


def _record(shared, fixture_file, index, setting):
    records = _records(shared)["samples"][fixture_file]
    return next(r for r in records if r["dataset_index"] == index and r["setting"] == setting)


def _dataset(shared, fixture_file, setting):
    """KeypointTrainDataset built with plain arguments from the recorded config."""
    config = _records(shared)["configs"][f"{fixture_file}_{setting}"]
    folder, family, split = FILES[fixture_file]
    augmentation = TrainAugmentation(
        config["INPUT_SIZE"], config["OUTPUT_SIZE"], flip_index(config["DATASET"]), config["MAX_ROTATION"],
        config["MIN_SCALE"], config["MAX_SCALE"], config["MAX_TRANSLATE"], config["FLIP"],
        scale_type=config["SCALE_TYPE"])
    heatmaps = [HeatmapGenerator(size, config["NUM_JOINTS"], config["SIGMA"]) for size in config["OUTPUT_SIZE"]]
    joints = [JointsGenerator(config["MAX_NUM_PEOPLE"], config["NUM_JOINTS"], size, config["TAG_PER_JOINT"])
              for size in config["OUTPUT_SIZE"]]
    return KeypointTrainDataset(family, shared / "data" / folder, split, config["NUM_JOINTS"], augmentation,
                                heatmaps, joints)


def _stored(shared, fixture_file, index, setting):
    """(arrays of the sample without the key prefix, json record)."""
    record = _record(shared, fixture_file, index, setting)
    prefix = record["key_prefix"]
    arrays = {k[len(prefix):]: v for k, v in _arrays(shared, fixture_file).items() if k.startswith(prefix)}
    return arrays, record


def _recorded_params(arrays):
    return AugmentationParams(aug_scale=float(arrays["aug_scale"]), aug_rot=float(arrays["aug_rot"]),
                              dx=int(arrays["dx"]), dy=int(arrays["dy"]), flip=bool(arrays["flip"]))


def _stored_warped_image(shared, fixture_file, index, setting, arrays):
    """image_warped; for the flip settings it is the unflipped setting's image mirrored (README 3)."""
    if "image_warped" in arrays:
        return arrays["image_warped"]
    unflipped = {"flip": "noaug", "affine_flip": "affine"}[setting]
    return _stored(shared, fixture_file, index, unflipped)[0]["image_warped"][:, ::-1]


def _assert_input_digest(tensor, arrays):
    batch = tensor.numpy()[None].astype(np.float64)
    assert tuple(arrays["input.shape"]) == batch.shape
    stride = int(arrays["input.sub_stride"])
    np.testing.assert_array_equal(tensor.numpy()[None, :, ::stride, ::stride], arrays["input.sub"])
    assert batch.min() == arrays["input.min"] and batch.max() == arrays["input.max"]
    np.testing.assert_allclose(batch.sum(), arrays["input.sum"], rtol=1e-12)
    np.testing.assert_allclose(np.abs(batch).sum(), arrays["input.abssum"], rtol=1e-12)
    np.testing.assert_allclose((batch ** 2).sum(), arrays["input.sqsum"], rtol=1e-12)
    np.testing.assert_allclose(batch.sum(axis=(0, 2, 3)), arrays["input.chsum"], rtol=1e-12)


def _assert_targets_equal(sample, arrays, num_scales=2):
    tensor, heatmaps, masks, tags = sample
    _assert_input_digest(tensor, arrays)
    for s in range(num_scales):
        assert heatmaps[s].dtype == np.float32 and masks[s].dtype == np.float32 and tags[s].dtype == np.int32
        np.testing.assert_array_equal(heatmaps[s], arrays[f"heatmaps{s}"])
        np.testing.assert_array_equal(masks[s], arrays[f"mask{s}"])
        np.testing.assert_array_equal(tags[s], arrays[f"joints_target{s}"])


@pytest.mark.parametrize("fixture_file,index,setting", SAMPLES)
def test_sample_rebuilt_from_recorded_parameters(shared, fixture_file, index, setting):
    arrays, record = _stored(shared, fixture_file, index, setting)
    dataset = _dataset(shared, fixture_file, setting)
    assert dataset.ids[index] == record["image_id"] == int(arrays["image_id"])

    image, mask, joints, person_ids = dataset.load(index)
    assert tuple(image.shape[:2]) == tuple(arrays["orig_hw"])
    np.testing.assert_array_equal(mask, arrays["mask_orig"].astype(bool))
    assert person_ids == list(arrays["person_ann_ids"]) == record["persons_in_joints"]
    np.testing.assert_array_equal(joints, arrays["joints_orig"])

    params = _recorded_params(arrays)
    augmentation = dataset.augmentation
    augmented = apply_augmentation(image, mask, joints, params, augmentation.input_size,
                                   augmentation.output_sizes, augmentation.flip_index)
    np.testing.assert_array_equal(augmented.center, arrays["center"])
    assert augmented.scale == arrays["scale"]
    np.testing.assert_allclose(augmented.matrix_input, arrays["affine_in"], rtol=0, atol=1e-12)
    for s in range(2):
        np.testing.assert_allclose(augmented.matrices_output[s], arrays[f"affine_out{s}"], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(augmented.joints_affine[s], arrays[f"joints_affine{s}"])
        np.testing.assert_array_equal(augmented.joints[s], arrays[f"joints_after{s}"])
    assert augmented.image.shape == (augmentation.input_size, augmentation.input_size, 4)  # RGBA
    np.testing.assert_array_equal(augmented.image[:, :, :3],
                                  _stored_warped_image(shared, fixture_file, index, setting, arrays))

    # The dataset's own path (RGBA warp, table normalisation) gives the same sample.
    _assert_targets_equal(dataset.sample(index, params), arrays)
    heatmap_sums = [float(arrays[f"heatmaps{s}"].astype(np.float64).sum()) for s in range(2)]
    np.testing.assert_allclose(heatmap_sums, record["heatmap_sums"], rtol=1e-9)


@pytest.mark.parametrize("fixture_file,index,setting", SAMPLES)
def test_seeded_draws_follow_the_official_order(shared, fixture_file, index, setting, monkeypatch):
    """Seeding as recorded, __getitem__ makes the recorded draws in the recorded order, and the same sample."""
    arrays, record = _stored(shared, fixture_file, index, setting)
    dataset = _dataset(shared, fixture_file, setting)
    calls = []

    def recording(name, function):
        def wrapper(*args):
            value = function(*args)
            calls.append((name, args, value))
            return value
        return wrapper

    monkeypatch.setattr(np.random, "random", recording("np.random.random", np.random.random))
    monkeypatch.setattr(np.random, "randint", recording("np.random.randint", np.random.randint))
    monkeypatch.setattr(random, "random", recording("random.random", random.random))
    np.random.seed(100 + index)
    random.seed(100 + index)
    sample = dataset[index]

    expected = record["rng_draws_in_order"]
    assert [c[0] for c in calls] == [d[0] for d in expected]
    for (name, args, value), (_, *recorded) in zip(calls, expected):
        if name == "np.random.randint":
            bounds, drawn = recorded
            assert list(args) == [int(bounds[0]), int(bounds[1])]  # the float bounds, truncated
            assert value == drawn
        else:
            assert value == recorded[0]
    _assert_targets_equal(sample, arrays)


def test_recorded_draw_values_give_the_recorded_parameters(shared):
    """TrainAugmentation.draw turns the seeded draws into aug_scale, aug_rot, dx, dy, flip as recorded."""
    dataset = _dataset(shared, "coco_in256", "affine_flip")
    for index in range(4):
        arrays, record = _stored(shared, "coco_in256", index, "affine_flip")
        np.random.seed(100 + index)
        random.seed(100 + index)
        height, width = record["orig_hw"]
        params = dataset.augmentation.draw(height, width)
        assert params == AugmentationParams(record["aug_scale"], record["aug_rot_deg"], record["dx"],
                                            record["dy"], record["flip_applied"])


def test_fast_input_tensor_matches_stored_digest_from_rgb(shared):
    """to_input_tensor_fast on the stored RGB image reproduces the stored input digest."""
    arrays, _ = _stored(shared, "coco_in512", 0, "noaug")
    _assert_input_digest(to_input_tensor_fast(arrays["image_warped"]), arrays)


def test_rgba_image_and_warp_carry_the_rgb_values(shared):
    arrays, _ = _stored(shared, "coco_in256", 3, "affine")
    dataset = _dataset(shared, "coco_in256", "affine")
    rgba = dataset.load(3)[0]
    rgb = read_image_rgb(dataset.image_path(3))
    np.testing.assert_array_equal(rgba[:, :, :3], rgb)
    assert (rgba[:, :, 3] == 255).all()
    matrix = arrays["affine_in"]
    warped = cv2.warpAffine(rgba, matrix[:2], (256, 256))
    np.testing.assert_array_equal(warped[:, :, :3], cv2.warpAffine(rgb, matrix[:2], (256, 256)))
    np.testing.assert_array_equal(warped[:, :, :3], arrays["image_warped"])
