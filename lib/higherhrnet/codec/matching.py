"""Associative-embedding grouping of joint candidates into persons: `match_by_tag` (algorithm.md §6.6).

Joint types are visited in `joint_order`. The first type with candidates starts one group per candidate;
each later type is matched to the existing groups by a minimum-cost assignment on
`round_half_even(||tag - group mean tag||) * 100 - value`. Groups live in an insertion-ordered dict keyed by
the float value of the first tag component of their founding candidate (official; keys can collide,
algorithm.md B11), and only the first `max_people` groups take part in matching (algorithm.md B10).

The arithmetic is NumPy's, in the official dtypes (float64 costs from float32 tags, float32 group means),
because the quantised costs are full of exact ties and the chosen assignment then depends on every bit.
"""
import numpy as np

from higherhrnet.codec.hungarian import munkres_assignment
from higherhrnet.keypoints import GROUPING_JOINT_ORDER
from higherhrnet.errors import ConfigError

MATCHERS = ("munkres", "scipy")
PADDING_COST = 1e10


def grouping_joint_order(num_joints, center_first=False):
    """Order in which joint types are grouped (algorithm.md §6.6).

    num_joints: joint types taking part (17 COCO, 14 CrowdPose, +1 with an unignored centre joint).
    Without centre: the first num_joints entries of the COCO order (CrowdPose's truncated order, B12).
    center_first (WITH_CENTER and not IGNORE_CENTER): the centre (last index) first, then the others.
    Deliberate difference (algorithm.md B24): the official code uses index 17 as centre for every dataset and
    crashes for CrowdPose; the centre here is num_joints - 1 (17 for COCO, as officially).
    """
    body_joints = num_joints - 1 if center_first else num_joints
    if not 1 <= body_joints <= len(GROUPING_JOINT_ORDER):
        raise ConfigError(f"grouping order: {body_joints} body joints, expected 1..{len(GROUPING_JOINT_ORDER)}")
    order = list(GROUPING_JOINT_ORDER[:body_joints])
    return [num_joints - 1] + order if center_first else order


def assign(cost, matcher="munkres"):
    """Minimum-cost assignment on a (rows, cols) float64 cost matrix with rows <= cols.

    Returns (row, col) pairs ordered by row. 'munkres': the assignment of the `munkres` 1.1.4 package, whose
    tie-breaking the official results depend on (default), computed by `hungarian.munkres_assignment`, an
    exact NumPy re-implementation of that package's algorithm (faster; same pairs). 'scipy': `scipy.optimize.linear_sum_assignment`, much faster,
    also optimal, but may pick another equal-cost assignment (not bit-exact with the official code).
    A callable `matcher(cost) -> pairs` is used as given.
    """
    if callable(matcher):
        return [(int(row), int(col)) for row, col in matcher(cost)]
    if matcher == "munkres":
        return munkres_assignment(cost)
    if matcher == "scipy":
        from scipy.optimize import linear_sum_assignment
        rows, cols = linear_sum_assignment(cost)
        return list(zip(rows.tolist(), cols.tolist()))
    raise ConfigError(f"unknown matcher {matcher!r} (TEST.MATCHER); valid: {', '.join(MATCHERS)}")


def grouping_costs(candidates, mean_tags, use_detection_val=True):
    """Tag distances and assignment costs of candidates (rows) to groups (columns).

    candidates: (n, 3 + T) float64 rows (x, y, val, tag...); mean_tags: (g, T) float32 group mean tags.
    Returns (distance (n, g) float64 Euclidean tag distances, cost (n, max(n, g)) float64):
    cost = round_half_even(distance) * 100 - val (or distance), padded with 1e10 columns when n > g.
    """
    distance = np.linalg.norm(candidates[:, None, 3:] - mean_tags[None, :, :], ord=2, axis=2)
    cost = np.round(distance) * 100 - candidates[:, 2:3] if use_detection_val else np.copy(distance)
    num_candidates, num_groups = distance.shape
    if num_candidates > num_groups:
        padding = np.zeros((num_candidates, num_candidates - num_groups)) + PADDING_COST
        cost = np.concatenate((cost, padding), axis=1)
    return distance, cost


def match_by_tag(tag_k, loc_k, val_k, *, joint_order, detection_threshold=0.1, tag_threshold=1.0,
                 use_detection_val=True, ignore_too_much=False, max_people=30, matcher="munkres"):
    """Group the candidates of one image into persons.

    tag_k (J, K, T) float32, loc_k (J, K, 2) integer (x, y) heatmap pixel indices, val_k (J, K) float32:
    one image of the top-k output. joint_order: joint types in processing order (`grouping_joint_order`).
    detection_threshold: candidates need val > it (strict); tag_threshold: a candidate joins a group only
    if its tag distance is < it (strict); use_detection_val: cost uses round(dist) * 100 - val (else dist);
    ignore_too_much: skip a joint type entirely once max_people groups exist (official option, off).
    matcher: assignment solver, see `assign`.
    Returns float32 (P, J, 3 + T): rows (x, y, val, tag...) per joint, all-zero for missing joints,
    persons in the official dict-insertion order. Deliberate difference: no person gives shape (0, J, 3 + T)
    instead of the official (0,).
    """
    if tag_k.ndim != 3 or loc_k.shape != tag_k.shape[:2] + (2,) or val_k.shape != tag_k.shape[:2]:
        raise ValueError(f"match_by_tag: expected tag_k (J, K, T), loc_k (J, K, 2), val_k (J, K), got shapes "
                         f"{tag_k.shape}, {loc_k.shape}, {val_k.shape}")
    num_joints, _, tag_dim = tag_k.shape
    if any(not 0 <= joint < num_joints for joint in joint_order):
        raise ValueError(f"match_by_tag: joint_order {list(joint_order)} has indices outside 0..{num_joints - 1}")
    groups = _Groups(num_joints, tag_dim)

    for position, joint in enumerate(joint_order):
        tags = tag_k[joint]
        candidates = np.concatenate((loc_k[joint], val_k[joint, :, None], tags), 1)
        keep = candidates[:, 2] > detection_threshold
        tags, candidates = tags[keep], candidates[keep]
        if candidates.shape[0] == 0:
            continue

        if position == 0 or len(groups) == 0:
            for tag, candidate in zip(tags, candidates):
                groups.found(tag, joint, candidate)
            continue

        num_groups = min(len(groups), max_people)
        if ignore_too_much and num_groups == max_people:
            continue
        distance, cost = grouping_costs(candidates, groups.mean_tags(num_groups), use_detection_val)

        for row, col in assign(cost, matcher):
            if col < num_groups and distance[row][col] < tag_threshold:
                groups.join(col, joint, candidates[row], tags[row])
            else:
                groups.found(tags[row], joint, candidates[row])

    if len(groups) == 0:
        return np.zeros((0, num_joints, 3 + tag_dim), dtype=np.float32)
    return np.array(groups.rows).astype(np.float32)


class _Groups:
    """The official grouping state: dicts keyed by the founder's first tag component, insertion-ordered.

    rows[i]: (J, 3 + T) float64 joint rows of group i; the mean tag of a group is the float32 mean of the
    tags of its joints, as `np.mean(list of tags, axis=0)` computes it. For T >= 2 that mean is a
    sequential float32 sum divided by the count, so running sums give the same bits (faster); for T = 1
    NumPy sums 8 or more values pairwise, so the list itself is averaged.
    """

    def __init__(self, num_joints, tag_dim):
        self.empty_person = np.zeros((num_joints, 3 + tag_dim))
        self.index_of = {}  # key (np.float32 tag[0] of the founder) -> group index
        self.rows, self.tag_lists, self.tag_sums, self.counts = [], [], [], []
        self.running_sums = tag_dim >= 2

    def __len__(self):
        return len(self.rows)

    def found(self, tag, joint, candidate):
        """Official `setdefault(key)[joint] = candidate; tags[key] = [tag]`: a colliding key reuses its group."""
        key = tag[0]
        index = self.index_of.get(key)
        if index is None:
            index = self.index_of[key] = len(self.rows)
            self.rows.append(np.copy(self.empty_person))
            self.tag_lists.append(None)
            self.tag_sums.append(None)
            self.counts.append(0)
        self.rows[index][joint] = candidate
        self.tag_lists[index] = [tag]
        self.tag_sums[index] = tag.copy()
        self.counts[index] = 1

    def join(self, index, joint, candidate, tag):
        self.rows[index][joint] = candidate
        self.tag_lists[index].append(tag)
        self.tag_sums[index] = self.tag_sums[index] + tag
        self.counts[index] += 1

    def mean_tags(self, num_groups):
        """(num_groups, T) float32 mean tags of the first num_groups groups."""
        if self.running_sums:
            counts = np.array(self.counts[:num_groups], dtype=np.float32)
            return np.array(self.tag_sums[:num_groups]) / counts[:, None]
        return np.array([np.mean(tags, axis=0) for tags in self.tag_lists[:num_groups]])
