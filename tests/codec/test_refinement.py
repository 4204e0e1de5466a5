"""Adjust, person scores and refine (algorithm.md §6.7-6.9): rules, and fast path == official loops."""
import numpy as np
import pytest
import torch

from higherhrnet.codec import grouping_joint_order, match_by_tag
from higherhrnet.codec.candidates import top_k
from higherhrnet.codec.reference import adjust_reference, refine_reference
from higherhrnet.codec.refinement import _rounded_tag_distance, adjust, person_scores, refine

from codec_helpers import synthetic_maps


def person_with(joints, num_joints=2, tag_dim=1):
    """(1, J, 3 + T) float32 person from {joint: (x, y, val, tag...)}; other joints missing (zeros)."""
    person = np.zeros((1, num_joints, 3 + tag_dim), np.float32)
    for joint, row in joints.items():
        person[0, joint, :len(row)] = row
    return person


def both_adjusts(persons, det):
    fast, official = adjust(persons, det), adjust_reference(persons, torch.from_numpy(det))
    np.testing.assert_array_equal(fast, official)
    return fast


def both_refines(persons, det, tags, hot_pixels=(8, 64, 2048)):
    """Fast refine (with several sizes of the pruned first search) equals the official loops."""
    official = refine_reference(persons, det, tags)
    for size in hot_pixels:
        np.testing.assert_array_equal(refine(persons, det, tags, hot_pixels=size), official)
    return official


def test_adjust_moves_toward_the_larger_neighbour_then_adds_half():
    det = np.zeros((1, 5, 6), np.float32)
    det[0, 2, 3], det[0, 2, 4], det[0, 2, 2] = 1.0, 0.6, 0.2     # right > left -> x + 0.25
    det[0, 1, 3], det[0, 3, 3] = 0.5, 0.1                        # above > below -> y - 0.25
    adjusted = both_adjusts(person_with({0: (3, 2, 1.0)}, num_joints=1), det)
    np.testing.assert_array_equal(adjusted[0, 0, :3], [3.75, 2.25, 1.0])


def test_adjust_ties_and_borders_give_minus_quarter():
    det = np.zeros((3, 4, 5), np.float32)
    det[1, 0, 0], det[1, 0, 1], det[1, 1, 0] = 0.9, 0.3, 0.3     # corner (0, 0): neighbours clamp to itself
    det[2, 3, 4], det[2, 3, 3], det[2, 2, 4] = 0.9, 0.3, 0.3     # corner (4, 3): clamped side is the peak
    persons = person_with({0: (2, 2, 0.5), 1: (0, 0, 0.9), 2: (4, 3, 0.9)}, num_joints=3)
    adjusted = both_adjusts(persons, det)
    np.testing.assert_array_equal(adjusted[0, 0, :2], [2.25, 2.25])   # all-equal neighbours: -0.25, -0.25
    np.testing.assert_array_equal(adjusted[0, 1, :2], [0.25, 0.25])   # det[0,1] < det[0,0]: -0.25
    # at the right/bottom border the comparison is det[y, W-1] > det[y, W-2]: the peak itself wins
    np.testing.assert_array_equal(adjusted[0, 2, :2], [4.75, 3.75])


def test_adjust_leaves_missing_joints_and_input_untouched():
    persons = person_with({0: (2, 2, 0.5)})
    adjusted = both_adjusts(persons, np.zeros((2, 4, 4), np.float32))
    np.testing.assert_array_equal(adjusted[0, 1], 0)
    assert persons[0, 0, 0] == 2


def test_person_score_counts_missing_joints_as_zero():
    persons = person_with({0: (1, 1, 0.5), 1: (2, 2, 0.25)}, num_joints=4)
    scores = person_scores(persons)
    assert scores == [np.float32(0.1875)] and isinstance(scores[0], np.float32)


def test_refine_prefers_the_tag_compatible_peak():
    det = np.zeros((2, 6, 8), np.float32)
    tags = np.zeros((2, 6, 8, 1), np.float32)
    tags[0, 1, 2] = 2.0                                  # the detected joint's tag: tau = 2.0
    det[1, 4, 6], tags[1, 4, 6] = 0.9, 3.2               # high peak, distance 1.2 -> score 0.9 - 1
    det[1, 2, 1], tags[1, 2, 1] = 0.3, 2.2               # lower peak, distance 0.2 -> score 0.3
    tags[1][det[1] == 0] = 9.0
    refined = both_refines(person_with({0: (2.75, 1.25, 0.8, 2.0)}), det, tags)
    np.testing.assert_array_equal(refined[0, 1], np.float32([1.25, 2.25, 0.3, 0.0]))   # tag column stays 0
    np.testing.assert_array_equal(refined[0, 0], np.float32([2.75, 1.25, 0.8, 2.0]))   # detected joints untouched


def test_refine_takes_the_first_argmax_and_handles_borders():
    det = np.zeros((2, 5, 7), np.float32)
    tags = np.zeros((2, 5, 7, 2), np.float32)
    det[1, 3, 6] = det[1, 1, 6] = 0.4                    # equal scores: row 1 comes first in row-major order
    det[1, 1, 5] = 0.1
    refined = both_refines(person_with({0: (0, 0, 0.5, 0.0, 0.0)}, tag_dim=2), det, tags)
    # x = 6 is the last column: det[1, 6] > det[1, 5] -> +0.25; rows 0 and 2 are equal -> -0.25
    np.testing.assert_array_equal(refined[0, 1, :3], np.float32([6.75, 1.25, 0.4]))


def test_refine_needs_positive_heat():
    det = np.full((2, 4, 4), -0.1, np.float32)
    det[1] = 0.0
    tags = np.zeros((2, 4, 4, 1), np.float32)
    refined = both_refines(person_with({0: (1, 1, 0.5)}), det, tags)
    np.testing.assert_array_equal(refined[0, 1], 0)


@pytest.mark.parametrize("tag_dim", [1, 2, 3])
def test_rounded_distance_equals_numpy_near_half_integers(tag_dim):
    """round(||d||) must equal NumPy's float32 computation even within an ulp of m + 0.5."""
    rng = np.random.default_rng(tag_dim)
    halves = np.float32(np.arange(20) + 0.5)
    values = np.concatenate([np.nextafter(np.nextafter(halves, 0), 0), np.nextafter(halves, 0), halves,
                             np.nextafter(halves, 99), rng.uniform(0, 20, 5000).astype(np.float32)])
    directions = rng.normal(size=(values.size, tag_dim))
    differences = (values[:, None] * directions / np.linalg.norm(directions, axis=1, keepdims=True))
    differences = differences.astype(np.float32)
    official = np.round(((differences ** 2).sum(axis=1)) ** 0.5)
    fast = _rounded_tag_distance([np.ascontiguousarray(differences[:, t]) for t in range(tag_dim)])
    np.testing.assert_array_equal(fast, official)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("tag_dim", [1, 2])
def test_fast_adjust_and_refine_equal_official_loops_on_random_maps(seed, tag_dim):
    det, tags = synthetic_maps(seed, tag_dim=tag_dim)
    tag_k, loc_k, val_k = top_k(det, tags)
    persons = match_by_tag(tag_k[0], loc_k[0], val_k[0], joint_order=grouping_joint_order(17))
    assert persons.shape[0] >= 3 and (persons[:, :, 2] == 0).any()
    det_image, tag_image = det[0].numpy(), tags[0].numpy()
    adjusted = both_adjusts(persons, det_image)
    refined = both_refines(adjusted, det_image, tag_image)
    assert (refined[:, :, 2] > 0).sum() > (adjusted[:, :, 2] > 0).sum()


def test_refine_leaves_a_person_without_positive_joint_unchanged():
    """No joint with val > 0: no person tag to match (the official code crashes here); kept as is."""
    det, tags = synthetic_maps(7, num_joints=3, tag_dim=2)
    persons = np.concatenate([person_with({0: (3, 3, -0.2, 0.0, 0.0)}, num_joints=3, tag_dim=2),
                              person_with({0: (5, 5, 0.7, 0.0, 0.0)}, num_joints=3, tag_dim=2)])
    refined = both_refines(persons, det[0].numpy(), tags[0].numpy())
    np.testing.assert_array_equal(refined[0], persons[0])
    assert (refined[1, :, 2] > 0).sum() > 1
