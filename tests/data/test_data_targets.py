"""HeatmapGenerator and JointsGenerator: edge cases, and the loop reference on random joints."""
import math
import warnings

import numpy as np
import pytest

from data_loop_reference import loop_heatmaps, loop_tag_targets
from higherhrnet.codec import HeatmapGenerator, JointsGenerator

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)


def _person(num_joints, **joints):
    """(1, J, 3) with joint k at (x, y, 2) for keyword j<k>=(x, y)."""
    person = np.zeros((1, num_joints, 3))
    for name, (x, y) in joints.items():
        person[0, int(name[1:])] = (x, y, 2)
    return person


def test_heatmap_kernel_values_spec_item_3():
    generator = HeatmapGenerator(128, 17, sigma=2)
    assert generator.kernel.shape == (15, 15)
    heatmaps = generator(_person(17, j0=(10.7, 3.2)))
    assert heatmaps.shape == (17, 128, 128) and heatmaps.dtype == np.float32
    assert np.unravel_index(np.argmax(heatmaps[0]), (128, 128)) == (3, 10)  # (row, column)
    assert heatmaps[0, 3, 10] == 1.0
    assert heatmaps[0, 3, 11] == np.float32(math.exp(-1 / 8))
    assert abs(heatmaps[0, 3, 11] - 0.882497) < 1e-6
    assert heatmaps[0, 10, 17] == np.float32(math.exp(-98 / 8))  # corner of the 15 x 15 window
    assert abs(heatmaps[0, 10, 17] - 4.785e-6) < 1e-9
    assert heatmaps[0, 11, 17] == 0 and heatmaps[0, 3, 18] == 0  # outside the window
    assert np.count_nonzero(heatmaps[0]) == 15 * (15 - 4)  # rows -4..-1 of the window are clipped (y = 3)
    assert not heatmaps[1:].any()


def test_heatmap_truncation_toward_zero_and_skips():
    generator = HeatmapGenerator(64, 17, sigma=2)
    heatmaps = generator(_person(17, j0=(-0.4, 5.0), j1=(-1.0, 5.0), j2=(5.0, 63.9), j3=(5.0, 64.0)))
    assert heatmaps[0, 5, 0] == 1.0  # -0.4 truncates to column 0 and is kept
    assert not heatmaps[1].any()  # -1.0 is outside
    assert heatmaps[2, 63, 5] == 1.0
    assert not heatmaps[3].any()  # 64.0 is outside a 64 map
    invisible = _person(17, j0=(10.0, 10.0))
    invisible[0, 0, 2] = 0
    assert not generator(invisible).any()


def test_heatmap_overlapping_persons_take_the_maximum():
    generator = HeatmapGenerator(64, 17, sigma=2)
    both = np.concatenate([_person(17, j5=(20.0, 20.0)), _person(17, j5=(22.0, 20.0))])
    heatmaps = generator(both)
    first, second = generator(both[:1]), generator(both[1:])
    np.testing.assert_array_equal(heatmaps, np.maximum(first, second))
    assert heatmaps[5, 20, 21] == np.float32(math.exp(-1 / 8))  # max, not the sum of two exp(-1/8)
    assert heatmaps.max() == 1.0


def test_heatmap_negative_sigma_means_resolution_over_64():
    assert HeatmapGenerator(256, 17, sigma=-1).sigma == 4
    assert HeatmapGenerator(256, 17, sigma=-1).kernel.shape == (27, 27)


def _random_joints(rng, persons, num_joints, resolution):
    joints = np.zeros((persons, num_joints, 3))
    joints[:, :, :2] = rng.uniform(-12, resolution + 12, size=(persons, num_joints, 2))
    joints[:, :, 2] = rng.integers(0, 3, size=(persons, num_joints))
    joints[0, 0, :2] = (-0.4, -0.9)  # kept at (0, 0) after truncation
    joints[0, 0, 2] = 1
    return joints


@pytest.mark.parametrize("resolution,sigma", [(64, 2), (128, 2), (256, -1), (32, 3)])
def test_heatmaps_equal_the_loop_reference(resolution, sigma):
    rng = np.random.default_rng(resolution)
    joints = _random_joints(rng, 12, 17, resolution)
    generator = HeatmapGenerator(resolution, 17, sigma)
    expected = loop_heatmaps(joints, resolution, 17, generator.sigma)
    np.testing.assert_array_equal(generator(joints), expected)
    assert generator(joints).dtype == np.float32


def test_heatmaps_of_no_person_are_zero():
    assert not HeatmapGenerator(64, 14, 2)(np.zeros((0, 14, 3))).any()


def test_tag_index_packing_spec_item_4():
    resolution = 8
    person = np.zeros((2, 17, 3))
    person[0, 3] = (2.5, 1.2, 2)   # first visible joint of row 0 -> slot 0
    person[0, 5] = (7.9, 7.9, 1)   # slot 1
    person[0, 6] = (8.0, 0.0, 2)   # outside: skipped, no slot used
    person[1, 16] = (0.0, 4.0, 2)  # row 1, slot 0
    targets = JointsGenerator(30, 17, resolution, tag_per_joint=True)(person)
    assert targets.shape == (30, 17, 2) and targets.dtype == np.int32
    assert tuple(targets[0, 0]) == (3 * 64 + 1 * 8 + 2, 1)
    assert tuple(targets[0, 1]) == (5 * 64 + 7 * 8 + 7, 1)
    assert not targets[0, 2:].any()
    assert tuple(targets[1, 0]) == (16 * 64 + 4 * 8 + 0, 1)
    assert not targets[2:].any()
    shared_map = JointsGenerator(30, 17, resolution, tag_per_joint=False)(person)
    assert tuple(shared_map[0, 0]) == (1 * 8 + 2, 1) and tuple(shared_map[1, 0]) == (4 * 8, 1)


@pytest.mark.parametrize("tag_per_joint", [True, False])
def test_tag_targets_equal_the_loop_reference(tag_per_joint):
    rng = np.random.default_rng(7)
    joints = _random_joints(rng, 25, 14, 64)
    expected = loop_tag_targets(joints, 64, 14, tag_per_joint=tag_per_joint)
    np.testing.assert_array_equal(JointsGenerator(30, 14, 64, tag_per_joint)(joints), expected)


def test_more_than_max_people_keeps_the_first_rows_and_warns_once():
    rng = np.random.default_rng(3)
    joints = _random_joints(rng, 33, 17, 64)
    generator = JointsGenerator(30, 17, 64, True)
    with pytest.warns(UserWarning, match="33 persons"):
        targets = generator(joints)
    np.testing.assert_array_equal(targets, loop_tag_targets(joints[:30], 64, 17))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generator(joints)  # second time: no warning
