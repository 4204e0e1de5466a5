"""The NumPy re-implementation of munkres 1.1.4 returns the package's own pairs (tie-breaking included)."""
import numpy as np
import pytest
from munkres import Munkres

from higherhrnet.codec.hungarian import munkres_assignment
from higherhrnet.codec.matching import assign


def package_pairs(cost):
    return [tuple(pair) for pair in Munkres().compute(np.asarray(cost, dtype=np.float64).tolist())]


def tied_matrix(rng, rows, cols, kind):
    """Cost matrices full of exact ties, like the grouping's round(distance) * 100 - value."""
    if kind == "levels":
        return rng.choice([-0.8, -0.4, 0.0, 99.6, 100.0, 199.2], size=(rows, cols))
    if kind == "grouping":
        values = np.round(rng.uniform(0, 1, (rows, 1)) * 8) / 8
        return np.round(rng.uniform(0, 3, (rows, cols))) * 100 - values
    if kind == "integers":
        return rng.integers(0, 4, (rows, cols)).astype(np.float64)
    cost = np.round(rng.uniform(0, 3, (rows, cols))) * 100 - rng.uniform(0, 1, (rows, 1))
    if rows > cols:  # the grouping's 1e10 padding columns
        cost = np.concatenate([cost, np.full((rows, rows - cols), 1e10)], axis=1)
    return cost


@pytest.mark.parametrize("kind", ["levels", "grouping", "integers", "padded"])
def test_equals_munkres_1_1_4_on_random_tied_matrices(kind):
    rng = np.random.default_rng({"levels": 0, "grouping": 1, "integers": 2, "padded": 3}[kind])
    shapes = {"wide": 0, "tall": 0, "square": 0}
    for _ in range(600):
        rows, cols = (int(v) for v in rng.integers(1, 13, 2))
        cost = tied_matrix(rng, rows, cols, kind)
        shapes["wide" if cost.shape[0] < cost.shape[1] else "tall" if cost.shape[0] > cost.shape[1]
               else "square"] += 1
        assert munkres_assignment(cost) == package_pairs(cost), cost
    assert shapes["wide"] and shapes["square"] and (shapes["tall"] or kind == "padded")


def test_equals_munkres_on_crowd_sized_matrices():
    rng = np.random.default_rng(7)
    for _ in range(40):
        cost = tied_matrix(rng, 30, 30, "grouping")
        assert munkres_assignment(cost) == package_pairs(cost)


def test_non_finite_costs_are_left_to_the_package():
    cost = np.array([[1.0, np.inf], [np.inf, 2.0]])
    assert munkres_assignment(cost) == package_pairs(cost) == [(0, 0), (1, 1)]


def test_default_matcher_uses_the_reimplementation_and_does_not_touch_the_costs():
    cost = np.array([[-0.8, -0.8, -0.8], [-0.4, 99.6, 99.6]])
    before = cost.copy()
    assert assign(cost, "munkres") == munkres_assignment(cost) == [(0, 2), (1, 0)]
    np.testing.assert_array_equal(cost, before)
    with pytest.raises(ValueError, match="non-empty 2-D"):
        munkres_assignment(np.zeros((0, 3)))
