"""Associative-embedding grouping (algorithm.md §6.6)."""
import numpy as np
import pytest

from higherhrnet.codec import grouping_joint_order, match_by_tag
from higherhrnet.codec.candidates import top_k
from higherhrnet.codec.matching import assign, grouping_costs
from higherhrnet.codec.reference import munkres_on_array

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

COCO_ORDER = grouping_joint_order(17)
NOSE, LEFT_EYE, RIGHT_EYE = 0, 1, 2


def candidate_arrays(candidates, num_joints=17, tag_dim=2, max_people=30):
    """Top-k style arrays from {joint: [(x, y, val, tag), ...]}, candidates in descending value order."""
    tag_k = np.zeros((num_joints, max_people, tag_dim), np.float32)
    loc_k = np.zeros((num_joints, max_people, 2), np.int64)
    val_k = np.zeros((num_joints, max_people), np.float32)
    for joint, rows in candidates.items():
        rows = sorted(rows, key=lambda row: -row[2])
        for k, (x, y, val, tag) in enumerate(rows):
            loc_k[joint, k], val_k[joint, k], tag_k[joint, k] = (x, y), val, tag
    return tag_k, loc_k, val_k


def group(candidates, tag_dim=2, **options):
    return match_by_tag(*candidate_arrays(candidates, tag_dim=tag_dim), joint_order=COCO_ORDER, **options)


APPENDIX_A = {
    NOSE: [(10, 10, 0.9, (0.10, 0.12)), (40, 10, 0.85, (1.40, 1.35))],
    LEFT_EYE: [(11, 9, 0.80, (0.20, 0.15)), (41, 9, 0.50, (1.30, 1.52)), (70, 9, 0.30, (3.0, 3.1))],
}


def test_appendix_a_costs():
    candidates = np.array([[11, 9, 0.8, 0.2, 0.15], [41, 9, 0.5, 1.3, 1.52], [70, 9, 0.3, 3.0, 3.1]])
    mean_tags = np.array([[0.10, 0.12], [1.40, 1.35]], np.float32)
    distance, cost = grouping_costs(candidates, mean_tags)
    np.testing.assert_allclose(distance, [[0.104, 1.697], [1.844, 0.197], [4.158, 2.371]], atol=1e-3)
    np.testing.assert_allclose(cost[:, :2], [[-0.8, 199.2], [199.5, -0.5], [399.7, 199.7]], atol=1e-6)
    np.testing.assert_array_equal(cost[:, 2], [1e10] * 3)  # 3 rows > 2 columns: one padding column
    plain_cost = grouping_costs(candidates, mean_tags, use_detection_val=False)[1]
    np.testing.assert_array_equal(plain_cost[:, :2], distance)  # USE_DETECTION_VAL off: the distance itself


def test_appendix_a_grouping():
    persons = group(APPENDIX_A)
    assert persons.shape == (3, 17, 5) and persons.dtype == np.float32
    np.testing.assert_array_equal(persons[0, LEFT_EYE, :3], np.float32([11, 9, 0.8]))   # c1 joins G1
    np.testing.assert_array_equal(persons[1, LEFT_EYE, :3], np.float32([41, 9, 0.5]))   # c2 joins G2
    np.testing.assert_array_equal(persons[2, LEFT_EYE, :3], np.float32([70, 9, 0.3]))   # c3: new group
    assert not persons[2, NOSE].any() and not persons[0, RIGHT_EYE].any()   # missing joints are zero rows


def _tie_case():
    """Three groups on a circle of radius 0.45 around tag (0, 0); a candidate at (0, 0) ties on all three.

    Costs: [[-0.8, -0.8, -0.8], [-0.4, 99.6, 99.6]]. By hand, munkres 1.1.4 pads a zero row, subtracts row
    minima ([[0, 0, 0], [0, 100, 100], [0, 0, 0]]), stars (0, 0) and (2, 1), primes (0, 2), then (1, 0),
    and the augmenting path (1, 0) -> (0, 0) -> (0, 2) gives the pairs (0, 2), (1, 0).
    """
    angles = np.radians([0.0, 100.0, 230.0])
    group_tags = [(0.45 * np.cos(a), 0.45 * np.sin(a)) for a in angles]
    return {
        NOSE: [(10 * (i + 1), 5, 0.9 - 0.1 * i, tag) for i, tag in enumerate(group_tags)],
        LEFT_EYE: [(1, 1, 0.8, (0.0, 0.0)), (2, 2, 0.4, (0.8, 0.0))],
    }


def test_munkres_tie_breaking_is_reproduced():
    cost = np.array([[-0.8, -0.8, -0.8], [-0.4, 99.6, 99.6]])
    assert assign(cost, "munkres") == [(0, 2), (1, 0)]
    assert [tuple(map(int, pair)) for pair in munkres_on_array(cost.copy())] == [(0, 2), (1, 0)]
    scipy_pairs = assign(cost, "scipy")
    assert sum(cost[r, c] for r, c in scipy_pairs) == pytest.approx(cost[0, 2] + cost[1, 0])

    persons = group(_tie_case())
    assert persons.shape[0] == 3
    assert persons[2, LEFT_EYE, 2] == np.float32(0.8)   # the tied candidate goes to the third group
    assert persons[0, LEFT_EYE, 2] == np.float32(0.4)
    assert not persons[1, LEFT_EYE].any()


def test_scipy_matcher_is_optimal_but_may_break_ties_differently():
    persons = group(_tie_case(), matcher="scipy")
    assert persons.shape[0] == 3 and persons[0, LEFT_EYE, 2] == np.float32(0.4)
    assert sorted(persons[:, LEFT_EYE, 2].tolist()) == pytest.approx([0.0, 0.4, 0.8])
    with pytest.raises(ValueError, match="valid: munkres, scipy"):
        group(_tie_case(), matcher="hungarian")


def test_tag_distance_of_one_or_more_starts_a_new_group():
    candidates = {NOSE: [(5, 5, 0.9, (0.0,)), (50, 5, 0.8, (3.0,))],
                  LEFT_EYE: [(6, 4, 0.7, (1.0,))], RIGHT_EYE: [(4, 4, 0.6, (-0.999,))]}
    persons = group(candidates, tag_dim=1)
    assert persons.shape[0] == 3                        # the left eye at D = 1.0 founds group 3
    np.testing.assert_array_equal(persons[2, LEFT_EYE, :4], np.float32([6, 4, 0.7, 1.0]))
    assert not persons[0, LEFT_EYE].any()
    assert persons[0, RIGHT_EYE, 2] == np.float32(0.6)  # D = 0.999 < 1 joins the nose at 0.0 (cost 99.4)


def test_only_the_first_max_people_groups_receive_joints():
    """The 31st group (founded by a left eye) never receives the matching right eye (B10)."""
    noses = [(i, 0, 0.9, (10.0 * i,)) for i in range(30)]
    candidates = {NOSE: noses, LEFT_EYE: [(0, 9, 0.8, (1000.0,))], RIGHT_EYE: [(1, 9, 0.7, (1000.1,))]}
    persons = group(candidates, tag_dim=1)
    assert persons.shape[0] == 32
    np.testing.assert_array_equal(persons[30, :, 2], np.eye(17)[LEFT_EYE] * np.float32(0.8))
    np.testing.assert_array_equal(persons[31, :, 2], np.eye(17)[RIGHT_EYE] * np.float32(0.7))
    # with room for 31 groups, the right eye joins the left eye's group
    persons = match_by_tag(*candidate_arrays(candidates, tag_dim=1, max_people=31), joint_order=COCO_ORDER,
                           max_people=31)
    assert persons.shape[0] == 31 and persons[30, RIGHT_EYE, 2] == np.float32(0.7)


def test_ignore_too_much_skips_joint_types_once_full():
    noses = [(i, 0, 0.9, (10.0 * i,)) for i in range(30)]
    candidates = {NOSE: noses, LEFT_EYE: [(0, 9, 0.8, (0.1,))]}
    assert group(candidates, tag_dim=1)[0, LEFT_EYE, 2] == np.float32(0.8)
    assert not group(candidates, tag_dim=1, ignore_too_much=True)[:, LEFT_EYE].any()


def test_colliding_keys_merge_into_the_existing_group():
    """A new group keyed like an existing one lands in it and replaces its tag list (official, B11)."""
    candidates = {NOSE: [(5, 5, 0.9, (2.0, 0.0))], LEFT_EYE: [(7, 7, 0.8, (2.0, 5.0))],
                  RIGHT_EYE: [(8, 8, 0.7, (2.0, 5.2))]}
    persons = group(candidates)
    assert persons.shape[0] == 1
    np.testing.assert_array_equal(persons[0, :3, 2], np.float32([0.9, 0.8, 0.7]))


def test_threshold_is_strict_and_empty_input_gives_no_person():
    candidates = {NOSE: [(5, 5, 0.25, (0.0, 0.0))]}
    assert group(candidates, detection_threshold=0.25).shape == (0, 17, 5)
    assert group(candidates, detection_threshold=0.2499).shape == (1, 17, 5)
    # float32(0.1) = 0.10000000149 passes the float64 threshold 0.1, as officially
    assert group({NOSE: [(5, 5, 0.1, (0.0, 0.0))]}).shape == (1, 17, 5)


def test_joint_orders():
    assert grouping_joint_order(17) == [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]
    assert grouping_joint_order(14) == [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13]   # CrowdPose (B12)
    assert grouping_joint_order(18, center_first=True)[:3] == [17, 0, 1]
    assert grouping_joint_order(15, center_first=True)[0] == 14                   # B24 fix
    with pytest.raises(ValueError, match="body joints"):
        grouping_joint_order(18)
    with pytest.raises(ValueError, match="joint_order"):
        match_by_tag(*candidate_arrays({}, num_joints=3), joint_order=[0, 1, 5])


@pytest.mark.parametrize("maps_name, fixture_name", [("maps_a", "pipeline_a"), ("maps_b", "pipeline_b")])
@pytest.mark.parametrize("matcher", ["munkres", munkres_on_array])
def test_matched_persons_equal_official(maps_name, fixture_name, matcher, request):
    det, tags = request.getfixturevalue(maps_name)
    fixture = request.getfixturevalue(fixture_name)
    tag_k, loc_k, val_k = top_k(det, tags)
    persons = match_by_tag(tag_k[0], loc_k[0], val_k[0], joint_order=COCO_ORDER, matcher=matcher)
    np.testing.assert_array_equal(persons, fixture["matched"])
