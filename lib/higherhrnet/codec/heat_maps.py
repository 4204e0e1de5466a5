"""Projected heatmaps computed only where the decoder reads them (fast path, same values bit for bit).

With TEST.PROJECT2IMAGE and one test scale, the official aggregation resizes each flip pass's heatmaps
(J, h, w), already averaged over the stages at the last stage's size, to the input size (J, 2h, 2w) and
averages the two passes there: det = (resize(normal) + resize(flipped back)) / 2. Most of that map is
never read: NMS and top-k only need the pixels above the detection threshold and their windows, adjust
the neighbours of the grouped joints, refine the maps of the joints some person misses, and there only
where a candidate may beat the best one found. `ProjectedHeatmaps` computes blocks of det on demand
(`map_blocks`), with the official float operations, and gives bounds of det taken from the
small pass maps: which blocks may hold values above a threshold, and per-block maxima for refine.

Used when the input size is exactly twice the last stage's size, the pass maps are CPU float32 and at
least MIN_SIDE pixels wide (the same conditions as the lazy tag maps); otherwise det is materialised.
"""
from typing import Optional

import numpy as np
import torch

from .map_blocks import (BAND, MIN_SIDE, BlockCache, array_crops, resize, resize_blocks_2x, upsampled_tile_bounds,
                         widen_upper)


class ProjectedHeatmaps:
    """The decoder's heatmaps det (1, J, H, W) = mean over flip passes of the 2x-resized pass maps.

    passes: list of one or two (J, h, w) float32 arrays (any strides), the heatmaps of the normal and the
    flipped pass (mirrored back, joints swapped) at the last stage's size, before projection (see
    `pass_heatmaps`); H = 2h, W = 2w. shape: (1, J, H, W). at / joint_map read det (computing the blocks
    they need); full() -> the (1, J, H, W) tensor the official aggregation builds.
    """

    def __init__(self, passes):
        if len(passes) not in (1, 2):
            raise ValueError(f"ProjectedHeatmaps: one or two flip passes, got {len(passes)}")
        self._arrays = [np.asarray(maps, dtype=np.float32) for maps in passes]
        num_joints, height, width = self._arrays[0].shape
        self.shape = (1, num_joints, 2 * height, 2 * width)
        self._cache = BlockCache(self.shape[1:], self._compute_blocks)
        self.block_shape = (BAND, self._cache.block_width)
        self.block_grid = self._cache.grid
        self._bounds = {}  # margin -> block bounds
        self._finite = None

    def _pass_crops(self, channels, rows, cols):
        """(n, R, K) crops of the pass maps; channel p * J + j is joint j of pass p."""
        num_joints = self.shape[1]
        if len(self._arrays) == 1:
            return array_crops(self._arrays[0])(channels, rows, cols)
        values = np.empty((len(channels), rows.shape[1], cols.shape[1]), np.float32)
        for index, array in enumerate(self._arrays):
            mine = (channels // num_joints) == index
            values[mine] = array_crops(array)(channels[mine] - index * num_joints, rows[mine], cols[mine])
        return values

    def _compute_blocks(self, joints, bands, columns, out):
        """Blocks of det into out (n, BAND, block_width): both passes resized in one call, then
        (h0 + h1) / 2.0 as in accumulate_scale (NumPy's float32 add and divide: the same IEEE operations)."""
        num_passes, num_joints = len(self._arrays), self.shape[1]
        channels = np.concatenate([joints + p * num_joints for p in range(num_passes)])
        geometry = (self._arrays[0].shape[1:], channels, np.tile(bands, num_passes), np.tile(columns, num_passes),
                    self._cache.block_width)
        if num_passes == 1:
            resize_blocks_2x(self._pass_crops, *geometry, out=out)
            return
        resized = resize_blocks_2x(self._pass_crops, *geometry)
        np.add(resized[:len(joints)], resized[len(joints):], out=out)
        np.divide(out, np.float32(2.0), out=out)

    def at(self, joints, ys, xs):
        """det at integer pixels (joints, ys, xs) (broadcasting arrays), float32."""
        return self._cache.at(joints, ys, xs)

    def blocks(self, joints, bands, columns):
        """(n, BAND, block_width) float32: whole blocks (joints, bands, columns) (n,) of det."""
        return self._cache.blocks(joints, bands, columns)

    def lookup(self, joints, ys, xs):
        """det at pixels whose blocks are computed already (see compute_blocks)."""
        return self._cache.lookup(joints, ys, xs)

    def joint_map(self, joint):
        """(H, W) float32: det of one joint."""
        return self._cache.channel(joint)

    def compute_blocks(self, blocks):
        """Compute the blocks where blocks (J, blocks down, blocks across) is true."""
        self._cache.ensure_blocks(*np.nonzero(blocks))

    def computed_pixels_above(self, threshold):
        """(joints, ys, xs) of the computed pixels with det > threshold (or NaN)."""
        return self._cache.stored_pixels(lambda values: ~(values <= threshold))

    def full(self):
        """(1, J, H, W) tensor: the whole det, computed by the official operations."""
        resized = [resize(torch.from_numpy(np.ascontiguousarray(maps))[None], self.shape[2:]) for maps in self._arrays]
        if len(resized) == 2:
            return torch.add(resized[0], resized[1]).div_(2.0)
        return resized[0]

    def is_finite(self):
        """True when no pass map holds NaN or an infinity (a sum that overflows counts as not finite)."""
        if self._finite is None:
            self._finite = all(bool(torch.isfinite(torch.from_numpy(maps).sum())) for maps in self._arrays)
        return self._finite

    def _block_bounds(self, margin):
        """(J, blocks down, blocks across) float32 upper bounds of det over blocks widened by margin pixels:
        the tile bounds of the passes' element-wise maximum (a det value never exceeds the largest pass
        value it depends on, up to rounding, covered by widening; one tile reduction instead of one per
        pass, same numbers). NaN in a pass map gives a NaN bound."""
        if margin not in self._bounds:
            largest = self._arrays[0] if len(self._arrays) == 1 else np.maximum(*self._arrays)
            self._bounds[margin] = widen_upper(upsampled_tile_bounds(largest, np.maximum, 2, self.block_shape, margin))
        return self._bounds[margin]

    def blocks_above(self, threshold, margin=0):
        """bool (J, blocks down, blocks across): the blocks of det that may hold a value > threshold, or a
        pixel within `margin` pixels of such a value (threshold >= 0, finite maps)."""
        return self._block_bounds(margin) > threshold

    def block_max(self, joint):
        """float32 (blocks down, blocks across): no det value of a block of `joint` exceeds it (the bounds
        with the smallest margin computed so far: a wider block bound is still a bound)."""
        return self._block_bounds(min(self._bounds, default=0))[joint]


def pass_heatmaps(outputs, outputs_flipped, *, num_joints, with_heatmaps_loss, test_with_heatmaps, flip_index):
    """The per-pass heatmaps of `aggregation.aggregate_stage_outputs` without projection, same bits.

    outputs / outputs_flipped (or None): the stage outputs (1, C_s, h_s, w_s) of the two flip passes,
    finest stage last; with_heatmaps_loss / test_with_heatmaps: per stage; flip_index: joint permutation.
    Returns [normal] or [normal, flipped back], (J, h, w) float32 C-contiguous arrays.
    Fewer passes over memory than the official order: the stage sum 0 + s_0 + s_1 + ... and its division
    are computed in place, and the flipped pass is summed before its mirror and joint permutation, which
    only move values (so every element goes through the same float operations).
    """
    last = len(outputs) - 1
    passes = []
    for stage_outputs, flipped in ((outputs, False), (outputs_flipped, True)):
        if stage_outputs is None:
            continue
        total, count = None, 0
        for stage, output in enumerate(stage_outputs):
            if not (with_heatmaps_loss[stage] and test_with_heatmaps[stage]):
                continue
            maps = output[:, :num_joints]
            if stage != last:
                maps = resize(maps, outputs[last].shape[2:])
            if total is None:  # the official sum starts from 0 (0 + -0.0 = +0.0); a resized map is ours to change
                total = maps.add_(0) if stage != last else torch.add(maps, 0)
            else:
                total.add_(maps)
            count += 1
        total = total.div_(count)[0]
        passes.append(torch.flip(total, [2]).numpy()[np.asarray(flip_index)] if flipped else total.numpy())
    return passes


def build_projected_heatmaps(outputs, outputs_flipped, *, num_joints, with_heatmaps_loss, test_with_heatmaps,
                             flip_index, drop_center, project_to_size) -> Optional[ProjectedHeatmaps]:
    """Lazy det of one scale, equal to the det of `aggregate_stage_outputs` + `accumulate_scale`, or None.

    Arguments as in `aggregate_stage_outputs`. None when the layout is not supported: no projection,
    a dropped centre channel, an input size other than twice the last stage's size, maps under MIN_SIDE
    pixels, or not CPU float32 with a batch of one.
    """
    if not project_to_size or drop_center or not any(h and t for h, t in zip(with_heatmaps_loss, test_with_heatmaps)):
        return None
    height, width = outputs[-1].shape[2:]
    if tuple(project_to_size) != (2 * width, 2 * height) or min(height, width) < MIN_SIDE:
        return None
    every_output = list(outputs) + list(outputs_flipped or [])
    if any(o.device.type != "cpu" or o.dtype != torch.float32 or o.shape[0] != 1 for o in every_output):
        return None
    return ProjectedHeatmaps(pass_heatmaps(outputs, outputs_flipped, num_joints=num_joints,
                                           with_heatmaps_loss=with_heatmaps_loss,
                                           test_with_heatmaps=test_with_heatmaps, flip_index=flip_index))
