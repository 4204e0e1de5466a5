"""Training targets at one output resolution R: Gaussian heatmaps and tag-index targets (algorithm.md §3.4-3.6).

Input joints are (N, J, >=3) float64 arrays (x, y, v) in pixels of the R x R map, x = column, y = row.
A joint takes part when v > 0 and its truncated coordinates `(int(x), int(y))` (toward zero, as officially: -0.4
becomes 0 and is kept, -1.0 is dropped) lie inside the map. Both generators are vectorised over persons
and joints and give the official arrays bit for bit.
"""
import warnings

import numpy as np


def _truncated_visible(joints, output_size):
    """(x_int, y_int, keep) arrays (N, J): truncation toward zero, keep = v > 0 and inside the map."""
    x_trunc = np.trunc(joints[:, :, 0])
    y_trunc = np.trunc(joints[:, :, 1])
    keep = (joints[:, :, 2] > 0) & (x_trunc >= 0) & (y_trunc >= 0) & (x_trunc < output_size) & \
        (y_trunc < output_size)
    x_int = np.where(keep, x_trunc, 0).astype(np.int64)
    y_int = np.where(keep, y_trunc, 0).astype(np.int64)
    return x_int, y_int, keep


def heatmaps_from_points(flat_index, values, shape):
    """float32 array of `shape`: zeros, with at each listed flat index the maximum of its values (np.maximum.at)."""
    heatmaps = np.zeros(int(np.prod(shape)), dtype=np.float32)
    np.maximum.at(heatmaps, flat_index, values)
    return heatmaps.reshape(shape)


class HeatmapGenerator:
    """Heatmaps (J, R, R) float32 of the labelled joints: a truncated Gaussian per joint, max-fused.

    sigma < 0 means R / 64 (official default); the official configs use sigma 2 at every R. The kernel is
    the official one: side 6 sigma + 3, peak 1.0 at index 3 sigma + 1, values exp(-d^2 / (2 sigma^2)) in
    float64, centred on the joint's integer pixel (the sub-pixel part is dropped). Overlapping joints of
    one type take the maximum. Casting to float32 before or after the maximum gives the same numbers
    (rounding is monotonic), so the kernel is cast once.
    """

    def __init__(self, output_size, num_joints, sigma=-1):
        self.output_size = output_size
        self.num_joints = num_joints
        self.sigma = output_size / 64 if sigma < 0 else sigma
        size = 6 * self.sigma + 3
        grid = np.arange(0, size, 1, float)
        center = 3 * self.sigma + 1
        kernel = np.exp(- ((grid[None, :] - center) ** 2 + (grid[:, None] - center) ** 2) / (2 * self.sigma ** 2))
        self.kernel = kernel.astype(np.float32)

    def __call__(self, joints):
        """(J, R, R) float32 heatmaps of joints (N, J, >=3) at this resolution."""
        resolution = self.output_size
        return heatmaps_from_points(*self.points(joints), (self.num_joints, resolution, resolution))

    def points(self, joints):
        """The heatmaps as the pixels the kernels write: (flat_index int64 (n,), values float32 (n,)).

        flat_index = (joint * R + row) * R + column into the (J, R, R) heatmaps; a pixel covered by several
        kernels of one joint type appears once per kernel. `heatmaps_from_points` makes the heatmaps of them
        (`__call__`; `compact_batch` rebuilds them so in the training process).
        """
        resolution = self.output_size
        x_int, y_int, keep = _truncated_visible(joints, resolution)
        if not keep.any():
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        joint_type = np.nonzero(keep)[1]
        x_int, y_int = x_int[keep], y_int[keep]
        # Window [round(x - 3 sigma - 1), round(x + 3 sigma + 2)) per axis (np.round: half to even), kernel
        # index = map index - window start, as in the official slicing.
        left = np.round(x_int - 3 * self.sigma - 1).astype(np.int64)
        top = np.round(y_int - 3 * self.sigma - 1).astype(np.int64)
        right = np.round(x_int + 3 * self.sigma + 2).astype(np.int64)
        bottom = np.round(y_int + 3 * self.sigma + 2).astype(np.int64)
        offsets = np.arange(self.kernel.shape[0])
        columns = left[:, None, None] + offsets[None, None, :]
        rows = top[:, None, None] + offsets[None, :, None]
        inside = (columns >= 0) & (columns < np.minimum(right, resolution)[:, None, None]) & \
                 (rows >= 0) & (rows < np.minimum(bottom, resolution)[:, None, None])
        flat_index = (joint_type[:, None, None] * resolution + rows) * resolution + columns
        values = np.broadcast_to(self.kernel, inside.shape)
        return flat_index[inside], values[inside]


class JointsGenerator:
    """Tag-index targets (max_num_people, J, 2) int32 for the associative-embedding loss (algorithm.md §3.6).

    Row i = person i; each kept joint k of the person fills the next free slot with
    (k * R^2 + y * R + x, 1) (tag_per_joint) or (y * R + x, 1); unused slots are (0, 0). Persons beyond
    max_num_people are dropped with a warning (the official code raises IndexError there; algorithm.md B7).
    """

    def __init__(self, max_num_people, num_joints, output_size, tag_per_joint=True):
        self.max_num_people = max_num_people
        self.num_joints = num_joints
        self.output_size = output_size
        self.tag_per_joint = tag_per_joint
        self._warned = False

    def __call__(self, joints):
        if joints.shape[0] > self.max_num_people:
            if not self._warned:
                warnings.warn(f"{joints.shape[0]} persons in a sample: only the first {self.max_num_people} "
                              "(DATASET.MAX_NUM_PEOPLE) get tag targets", stacklevel=2)
                self._warned = True
            joints = joints[:self.max_num_people]
        resolution = self.output_size
        targets = np.zeros((self.max_num_people, self.num_joints, 2), dtype=np.int32)
        x_int, y_int, keep = _truncated_visible(joints, resolution)
        index = y_int * resolution + x_int
        if self.tag_per_joint:
            index = index + np.arange(joints.shape[1])[None, :] * resolution * resolution
        person, _ = np.nonzero(keep)
        slot = (np.cumsum(keep, axis=1) - 1)[keep]
        targets[person, slot, 0] = index[keep]
        targets[person, slot, 1] = 1
        return targets
