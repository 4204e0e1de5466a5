"""Minimum-cost assignment with the exact behaviour of the `munkres` 1.1.4 package, on NumPy arrays.

The official grouping calls `munkres.Munkres().compute` (version 1.1.4) on float64 costs full of exact
ties, and its results depend on which of the equal-cost assignments that package returns. This module
re-implements the same algorithm step by step, with the same scan orders and the same float64 operations,
so that it returns the same pairs, but it works on whole rows and columns with NumPy instead of element
loops (several times faster on the 30 x 30 matrices of a crowded image). tests/codec/test_hungarian.py
compares it with the package on many random tied matrices.

The package's behaviour that is reproduced (Munkres' algorithm as written there):
- the matrix is padded to square with 0 (extra columns on short rows, extra all-zero rows);
- step 1 subtracts each row's minimum (no column reduction);
- step 2 stars, row by row, the first zero whose column has no star yet;
- step 4 looks for an uncovered zero starting at the current (row, column) position: rows in cyclic
  order from that row, and inside the first row that has one, the *last* uncovered zero met when
  scanning the columns cyclically from that column (the package's scan does not stop at the first one);
- step 6 adds the smallest uncovered value to covered rows, then subtracts it from uncovered columns
  (so a covered row in an uncovered column gets (c + m) - m, rounded twice, as in the package);
- every zero test is an exact `== 0` on the float64 values.
Costs with NaN or infinity are handed to the package itself (its comparisons decide what happens then).
"""
import numpy as np


def _package_compute(cost):
    from munkres import Munkres
    return [tuple(pair) for pair in Munkres().compute(np.asarray(cost, dtype=np.float64).tolist())]


def _first(mask):
    """Index of the first True entry of a 1-D bool array, or -1."""
    index = int(np.argmax(mask))
    return index if mask[index] else -1


def _find_uncovered_zero(zero, row_covered, col_covered, start_row, start_col):
    """The package's `__find_a_zero(start_row, start_col)`: (row, col) or (-1, -1)."""
    uncovered = zero & ~row_covered[:, None] & ~col_covered[None, :]
    rows = np.flatnonzero(uncovered.any(axis=1))
    if rows.size == 0:
        return -1, -1
    after = rows[rows >= start_row]
    row = int(after[0]) if after.size else int(rows[0])
    cols = np.flatnonzero(uncovered[row])
    before = cols[cols < start_col]
    col = int(before[-1]) if before.size else int(cols[-1])  # last one in the cyclic scan from start_col
    return row, col


def munkres_assignment(cost):
    """(row, col) pairs of a minimum-cost assignment, exactly as `munkres.Munkres().compute(cost)` 1.1.4.

    cost: (rows, cols) float64 array-like (any shape, padded to square with zeros like the package).
    Returns a list of (row, col) int tuples for the rows and columns of the original matrix, ordered by row.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or cost.shape[0] == 0 or cost.shape[1] == 0:
        raise ValueError(f"munkres_assignment: expected a non-empty 2-D cost matrix, got shape {cost.shape}")
    if not np.isfinite(cost).all():
        return _package_compute(cost)
    num_rows, num_cols = cost.shape
    n = max(num_rows, num_cols)
    matrix = np.zeros((n, n))
    matrix[:num_rows, :num_cols] = cost

    # Step 1: subtract each row's minimum.
    matrix -= matrix.min(axis=1, keepdims=True)
    zero = matrix == 0

    # Step 2: star the first zero of each row whose column has no star yet.
    marked = np.zeros((n, n), dtype=np.int8)  # 1 = star, 2 = prime
    col_covered = np.zeros(n, dtype=bool)
    for row in range(n):
        col = _first(zero[row] & ~col_covered)
        if col >= 0:
            marked[row, col] = 1
            col_covered[col] = True
    row_covered = np.zeros(n, dtype=bool)

    while True:
        # Step 3: cover the columns holding a star; done when all n are covered.
        col_covered = (marked == 1).any(axis=0)
        if int(col_covered.sum()) >= n:
            break
        # Step 4 (with step 6 as needed): prime uncovered zeros until one has no star in its row.
        row, col = 0, 0
        while True:
            row, col = _find_uncovered_zero(zero, row_covered, col_covered, row, col)
            if row < 0:
                # Step 6: shift by the smallest uncovered value, then step 4 again from (0, 0).
                uncovered = ~row_covered[:, None] & ~col_covered[None, :]
                num_covered_rows, num_uncovered_cols = int(row_covered.sum()), int((~col_covered).sum())
                events = n * (num_covered_rows + num_uncovered_cols) - 2 * num_covered_rows * num_uncovered_cols
                if not uncovered.any() or events == 0:
                    return _package_compute(cost)  # degenerate: let the package decide (it raises)
                smallest = matrix[uncovered].min()
                matrix[row_covered] += smallest
                matrix[:, ~col_covered] -= smallest
                zero = matrix == 0
                row, col = 0, 0
                continue
            marked[row, col] = 2
            star_col = _first(marked[row] == 1)
            if star_col < 0:
                break
            col = star_col
            row_covered[row] = True
            col_covered[col] = False
        # Step 5: the alternating path of primes and stars from (row, col); flip it, erase primes, uncover.
        path = [(row, col)]
        while True:
            star_row = _first(marked[:, path[-1][1]] == 1)
            if star_row < 0:
                break
            path.append((star_row, path[-1][1]))
            path.append((star_row, _first(marked[star_row] == 2)))
        for path_row, path_col in path:
            marked[path_row, path_col] = 0 if marked[path_row, path_col] == 1 else 1
        marked[marked == 2] = 0
        row_covered[:] = False

    rows, cols = np.nonzero(marked[:num_rows, :num_cols] == 1)
    return list(zip(rows.tolist(), cols.tolist()))
