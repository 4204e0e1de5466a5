"""Projected tag maps computed only where the decoder reads them (fast path, same values bit for bit).

With TEST.PROJECT2IMAGE the official aggregation resizes every tag map twice (the 1/4-resolution stage
output to the 1/2-resolution stage size, then to the input size) and interleaves them into a
(1, J, H, W, T) array, but the decoder reads that array only at the joint candidates (matching, person
tags) and, for refine, where a missing joint may be found. `ProjectedTagMaps` keeps the stage outputs
and computes blocks of the resized maps on demand (`map_blocks`), with identical values. It also gives
per-block bounds of the maps, taken from the small stage outputs, for refine's pruned search.

PyTorch's CPU bilinear kernel processes maps narrower than about 55 pixels differently (a map resized
alone then differs in the last bit from the same map resized among others), so the lazy path is used
only when the tag stage is at least MIN_SIDE pixels high and wide (inputs of 256 pixels and more);
smaller maps are materialised.

Supported layout (else `build_projected_tag_maps` returns None and the caller materialises the maps):
one test scale, tags per joint, no dropped centre channel, every tag stage at half the last stage's size
(or every one at that size) and at least MIN_SIDE pixels on each side, and the input size twice the last
stage's size or equal to it; CPU float32 tensors.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .aggregation import stack_tag_maps
from .map_blocks import (BAND, MIN_SIDE, BlockCache, array_crops, resize, resize_blocks_2x, upsampled_tile_bounds,
                         widen_lower, widen_upper)

# Columns of the crops that give single pixels (values_at): at least map_blocks.MIN_CROP_COLUMNS.
PROJECT_CROP_COLUMNS = 66


def _size_factor(source_hw, target_hw):
    """1 or 2 when target = factor * source along both axes, else None."""
    for factor in (1, 2):
        if tuple(target_hw) == (factor * source_hw[0], factor * source_hw[1]):
            return factor
    return None


@dataclass
class TagSource:
    """One tag channel T of the decoder: a stage output's tag maps and how they reach the input size.

    raw: (C, h, w) float32 tag maps of one network pass and stage (before any resize).
    channels: (J,) int64, raw channel of each output joint (the flip permutation for a flipped pass).
    stage_factor: 1 or 2, resize to the last stage's size; mirror: mirrored along W after that resize
    (flipped pass); project_factor: 1 or 2, resize to the input size.
    """
    raw: torch.Tensor
    channels: np.ndarray
    stage_factor: int
    mirror: bool
    project_factor: int

    def half_size(self):
        return (self.raw.shape[1] * self.stage_factor, self.raw.shape[2] * self.stage_factor)

    def full_size(self):
        height, width = self.half_size()
        return (height * self.project_factor, width * self.project_factor)


class ProjectedTagMaps:
    """The decoder's tag maps (1, J, H, W, T) at the input size, evaluated lazily (see module notes).

    sources: T TagSources sharing stage_factor and project_factor. The T x J projected maps are kept as
    one stack (channel t * J + j = joint j of source t) in block caches: one at the last stage's size
    (the stage resize; flipped passes are mirrored where it is read), one at the input size.
    shape: (1, J, H, W, T). values_at(joints, ys, xs) -> (..., T) float32 array of the maps at integer
    pixels; joint_map(joint) -> (H, W, T); block_bounds(joint) -> per-block lower and upper bounds
    (blocks of block_shape pixels); full() -> the (1, J, H, W, T) tensor the official aggregation builds.
    """

    def __init__(self, sources, num_joints):
        self.sources = sources
        self.num_joints = num_joints
        height, width = sources[0].full_size()
        self.shape = (1, num_joints, height, width, len(sources))
        self._raw = np.concatenate([source.raw.numpy()[source.channels] for source in sources])  # (T J, h, w)
        self._mirror = np.repeat([source.mirror for source in sources], num_joints)
        stage_factor, project_factor = sources[0].stage_factor, sources[0].project_factor
        self._factor = stage_factor * project_factor
        self._half_size = sources[0].half_size()
        stacked = len(self._raw)
        self._half = None
        if stage_factor == 2:
            self._half = BlockCache((stacked,) + self._half_size, self._stage_blocks)
        if project_factor == 2:
            self._full = BlockCache((stacked,) + sources[0].full_size(), self._project_blocks)
        else:  # the stage-size maps themselves, with the mirror of flipped passes applied
            self._full = BlockCache((stacked,) + self._half_size, self._whole_blocks)
        self.block_shape = (BAND, self._full.block_width)
        self._bounds = None  # (lower, upper) block bounds of every stacked channel, computed on first use

    def _stage_blocks(self, channels, bands, columns, out):
        """Blocks of the stage resize (before the mirror of flipped passes, which `_half_crops` applies)."""
        resize_blocks_2x(array_crops(self._raw), self._raw.shape[1:], channels, bands, columns,
                         self._half.block_width, out=out)

    def _half_crops(self, channels, rows, cols):
        """(n, R, K) pixels of the stage-size maps after the mirror of flipped passes; rows (n, R) any rows,
        cols (n, K) consecutive columns. A mirrored crop is the unmirrored one at the mirrored columns,
        read backwards."""
        mirrored = self._mirror[channels]
        width = self._half_size[1]
        cols = np.where(mirrored[:, None], width - 1 - cols[:, ::-1], cols)
        if self._half is not None:
            crops = self._half.crops(channels, rows, cols)
        else:
            crops = array_crops(self._raw)(channels, rows, cols)
        crops[mirrored] = crops[mirrored][..., ::-1]
        return crops

    def _project_blocks(self, channels, bands, columns, out):
        resize_blocks_2x(self._half_crops, self._half_size, channels, bands, columns, self._full.block_width, out=out)

    def _whole_blocks(self, channels, bands, columns, out):
        """Blocks of maps that need no resize (stage and input size equal): the source pixels themselves."""
        height, width = self._half_size
        rows = np.minimum(bands[:, None] * BAND + np.arange(BAND)[None, :], height - 1)
        block_width = self._full.block_width
        for column in np.unique(columns):
            same = np.flatnonzero(columns == column)
            first = column * block_width
            count = min(block_width, width - first)
            cols = np.broadcast_to(first + np.arange(count), (len(same), count))
            out[same, :, :count] = self._half_crops(channels[same], rows[same], cols)

    def _stacked(self, joints):
        """(T, ...) stacked channels of joints for every source."""
        joints = np.asarray(joints, np.int64)
        offsets = np.arange(self.shape[4]).reshape((-1,) + (1,) * joints.ndim) * self.num_joints
        return offsets + joints[None]

    def values_at(self, joints, ys, xs):
        """(..., T) float32: the tag maps at integer pixels (joints, ys, xs) (broadcasting arrays).

        Scattered pixels (candidates, person tags) are computed one by one from small crops (`_points`),
        not from whole blocks; the values are the same.
        """
        joints, ys, xs = np.broadcast_arrays(*(np.asarray(a, np.int64) for a in (joints, ys, xs)))
        channels = self._stacked(joints.reshape(-1))                                     # (T, n)
        num_sources = channels.shape[0]
        values = self._points(channels.reshape(-1), np.tile(ys.reshape(-1), num_sources),
                              np.tile(xs.reshape(-1), num_sources))
        return np.moveaxis(values.reshape((num_sources,) + joints.shape), 0, -1)

    def _points(self, channels, ys, xs):
        """(n,) float32: projected maps at pixels (ys, xs) of stacked channels, each from one small crop.

        A 2x-resized row Y reads source rows floor(Y/2 - 1/4) and the next (clamped): a crop of two source
        rows starting there gives row Y as an inner row of its resize (or a border row at the map border),
        and PROJECT_CROP_COLUMNS >= MIN_CROP_COLUMNS columns around X keep the column weights exact.
        """
        if self.sources[0].project_factor == 1:
            return self._half_points(channels, ys[:, None], xs[:, None])[:, 0, 0]
        half_height, half_width = self._half_size
        first_rows = np.clip((2 * ys - 1) // 4, 0, half_height - 2)
        crop_cols = min(PROJECT_CROP_COLUMNS, half_width)
        first_cols = np.clip(xs // 2 - crop_cols // 2, 0, half_width - crop_cols)
        half = self._half_points(channels, first_rows[:, None] + np.arange(2)[None, :],
                                 first_cols[:, None] + np.arange(crop_cols)[None, :])        # (n, 2, K)
        resized = resize(torch.from_numpy(np.ascontiguousarray(half))[:, None], (4, 2 * crop_cols))[:, 0].numpy()
        return resized[np.arange(len(channels)), ys - 2 * first_rows, xs - 2 * first_cols]

    def _half_points(self, channels, rows, cols):
        """(n, R, K) float32: stage-size maps (after the mirror of flipped passes) at R <= 2 consecutive rows
        (n, R) and K consecutive columns (n, K), from small crops of the stage outputs."""
        mirrored = self._mirror[channels]
        half_width = self._half_size[1]
        cols = np.where(mirrored[:, None], half_width - 1 - cols[:, ::-1], cols)          # unmirrored columns
        if self.sources[0].stage_factor == 1:
            values = self._raw[channels[:, None, None], rows[:, :, None], cols[:, None, :]]
        else:
            raw_height, raw_width = self._raw.shape[1:]
            first_rows = np.clip((2 * rows[:, 0] - 1) // 4, 0, raw_height - 3)
            crop_cols = min(PROJECT_CROP_COLUMNS, raw_width)
            first_cols = (cols[:, 0] - 1) // 2 - (crop_cols - cols.shape[1] // 2) // 2
            first_cols = np.clip(first_cols, 0, raw_width - crop_cols)
            crop_rows = first_rows[:, None] + np.arange(3)[None, :]
            crop_columns = first_cols[:, None] + np.arange(crop_cols)[None, :]
            crops = self._raw[channels[:, None, None], crop_rows[:, :, None], crop_columns[:, None, :]]
            resized = resize(torch.from_numpy(crops)[:, None], (6, 2 * crop_cols))[:, 0].numpy()
            values = resized[np.arange(len(channels))[:, None, None], (rows - 2 * first_rows[:, None])[:, :, None],
                             (cols - 2 * first_cols[:, None])[:, None, :]]
        values[mirrored] = values[mirrored][..., ::-1]
        return values

    def joint_map(self, joint):
        """(H, W, T) float32: the maps of one joint (computed block by block)."""
        return np.stack([self._full.channel(channel) for channel in self._stacked([joint])[:, 0]], axis=-1)

    def blocks(self, joints, bands, columns):
        """(n, BAND, block_width, T) float32: whole blocks (joints, bands, columns) (n,) of the maps."""
        channels = self._stacked(joints)                                                 # (T, n)
        values = self._full.blocks(channels.reshape(-1), np.tile(bands, len(channels)), np.tile(columns, len(channels)))
        return np.moveaxis(values.reshape((len(channels), len(bands)) + values.shape[1:]), 0, -1)

    def block_bounds(self, joint):
        """Lists of T (lower, upper) float32 arrays (blocks down, blocks across) over blocks of block_shape:
        every tag value of a block lies within them (widened for the rounding of the resizes). A mirror
        along W commutes with the bounds, so the source planes of flipped passes are mirrored first. The
        bounds of all joints are computed at the first call."""
        if self._bounds is None:
            planes = np.array(self._raw, copy=True)
            planes[self._mirror] = planes[self._mirror][..., ::-1]
            self._bounds = [widen(upsampled_tile_bounds(planes, ufunc, self._factor, self.block_shape))
                            for widen, ufunc in ((widen_lower, np.minimum), (widen_upper, np.maximum))]
        channels = self._stacked([joint])[:, 0]
        return [self._bounds[0][c] for c in channels], [self._bounds[1][c] for c in channels]

    def full(self):
        """(1, J, H, W, T) tensor, computed by the official operations."""
        maps = []
        for source in self.sources:
            projected = source.raw[torch.from_numpy(source.channels)][None]
            if source.stage_factor == 2:
                projected = resize(projected, source.half_size())
            if source.mirror:
                projected = torch.flip(projected, [3])
            if source.project_factor == 2:
                projected = resize(projected, source.full_size())
            maps.append(torch.unsqueeze(projected, 4))
        return stack_tag_maps(maps)


def build_projected_tag_maps(outputs, outputs_flipped, *, num_joints, with_heatmaps_loss, with_ae_loss,
                             test_with_ae, flip_index, tag_per_joint, drop_center, project_to_size,
                             num_scales) -> Optional[ProjectedTagMaps]:
    """Lazy tag maps equal to the tags of `aggregate_stage_outputs` + `finish_aggregation`, or None.

    Arguments as in `aggregate_stage_outputs` (one scale: num_scales must be 1). None when the layout is
    not supported (module notes); the caller then builds the full maps.
    """
    if num_scales != 1 or not tag_per_joint or drop_center or not project_to_size:
        return None
    final_hw = tuple(outputs[-1].shape[2:])
    size_hw = (project_to_size[1], project_to_size[0])
    project_factor = _size_factor(final_hw, size_hw)
    passes = [(outputs, None)] + ([(outputs_flipped, np.asarray(flip_index))] if outputs_flipped is not None else [])
    sources = []
    for stage_outputs, permutation in passes:
        for stage, output in enumerate(stage_outputs):
            if not (with_ae_loss[stage] and test_with_ae[stage]):
                continue
            if output.device.type != "cpu" or output.shape[0] != 1 or output.dtype != torch.float32:
                return None
            offset = num_joints if with_heatmaps_loss[stage] else 0
            raw = output[0, offset:]
            if raw.shape[0] != num_joints:
                return None
            stage_factor = _size_factor(tuple(raw.shape[1:]), final_hw)
            if stage_factor is None or project_factor is None or min(raw.shape[1:]) < MIN_SIDE:
                return None
            channels = np.arange(num_joints) if permutation is None else permutation.astype(np.int64)
            sources.append(TagSource(raw, channels, stage_factor, permutation is not None, project_factor))
    if not sources or len({(source.stage_factor, source.project_factor) for source in sources}) != 1:
        return None
    return ProjectedTagMaps(sources, num_joints)
