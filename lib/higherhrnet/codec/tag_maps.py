"""Projected tag maps computed only where the decoder reads them (fast path, same values bit for bit).

With TEST.PROJECT2IMAGE the official aggregation resizes every tag map twice (the 1/4-resolution stage
output to the 1/2-resolution stage size, then to the input size) and interleaves them into a
(1, J, H, W, T) array, but the decoder reads that array only at the joint candidates (matching, person
tags) and, for refine, on the maps of the joints some person misses. `ProjectedTagMaps` keeps the stage
outputs and computes those values on demand.

Why the values are identical: PyTorch's bilinear kernel (align_corners=False) computes each output row
from two input rows with weights that depend only on the row index and the size ratio; along the width
its floating-point evaluation varies with the position, so only *whole rows* are recomputed. On narrow
maps the kernel also groups channels differently (a map resized alone then differs in the last bit from
the same map resized among others), so the lazy path is used only when the tag stage is at least
MIN_SIDE pixels high and wide (inputs of 256 pixels and more); smaller maps are materialised. For a 2x resize, output row Y reads input rows i0 = floor(max(0,
(Y + 0.5) / 2 - 0.5)) and min(i0 + 1, h - 1); resizing the two-row crop starting at c = min(i0, h - 2)
to four rows reproduces row Y exactly (same ratio, so the same weights and the same clamping at the map
borders). tests/codec/test_tag_maps.py checks this against the full computation.

Supported layout (else `build_projected_tag_maps` returns None and the caller materialises the maps):
one test scale, tags per joint, no dropped centre channel, each tag stage at half the last stage's size
or at that size and at least MIN_SIDE pixels on each side, and the input size twice the last stage's size
or equal to it; CPU float32 tensors.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from .aggregation import stack_tag_maps

# Smallest side (pixels) of a tag stage output for the lazy path; narrower maps are materialised (see above).
MIN_SIDE = 64


def _resize(maps, size_hw):
    return F.interpolate(maps, size=tuple(size_hw), mode="bilinear", align_corners=False)


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


def _source_rows(maps, rows, factor):
    """Rows `rows` (n,) of the 2x resize of maps (n, h, w) -> (n, 2w); row k is read from maps[k].

    Each row is the resize of a two-row crop of its own map, batched in one call (see the module notes).
    factor 1 just picks the rows.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if factor == 1:
        return maps[torch.arange(len(rows)), torch.from_numpy(rows)]
    height, width = maps.shape[1:]
    first = np.maximum((rows + 0.5) / 2 - 0.5, 0).astype(np.int64)
    start = np.minimum(first, height - 2)
    crops = maps[torch.arange(len(rows))[:, None], torch.from_numpy(start[:, None] + np.arange(2)[None, :])]
    resized = _resize(crops[:, None], (4, 2 * width))[:, 0]
    return resized[torch.arange(len(rows)), torch.from_numpy(rows - 2 * start)]


def _full_rows(source, joints, rows):
    """Rows (n, W) of the projected tag map of `source` for (joint, row) pairs (joints, rows)."""
    channel_maps = source.raw[torch.from_numpy(source.channels[joints])]          # (n, h, w)
    if source.project_factor == 1:
        half = _source_rows(channel_maps, rows, source.stage_factor)
        return torch.flip(half, [1]) if source.mirror else half
    half_height = source.half_size()[0]
    first = np.maximum((rows + 0.5) / 2 - 0.5, 0).astype(np.int64)
    start = np.minimum(first, half_height - 2)
    half_rows = np.stack([start, start + 1], axis=1).reshape(-1)                 # (2n,)
    half = _source_rows(torch.repeat_interleave(channel_maps, 2, dim=0), half_rows, source.stage_factor)
    if source.mirror:
        half = torch.flip(half, [1])
    crops = half.reshape(len(rows), 2, -1)
    resized = _resize(crops[:, None], (4, 2 * crops.shape[2]))[:, 0]
    return resized[torch.arange(len(rows)), torch.from_numpy(rows - 2 * start)]


class ProjectedTagMaps:
    """The decoder's tag maps (1, J, H, W, T) at the input size, evaluated lazily (see module notes).

    shape: (1, J, H, W, T). values_at(joints, ys, xs) -> (n, T) float32 array of the maps at integer
    pixels; joint_map(joint) -> (H, W, T) float32 array; full() -> the (1, J, H, W, T) tensor the official
    aggregation builds.
    """

    def __init__(self, sources, num_joints):
        self.sources = sources
        height, width = sources[0].full_size()
        self.shape = (1, num_joints, height, width, len(sources))

    def values_at(self, joints, ys, xs):
        joints, ys, xs = (np.asarray(a, dtype=np.int64).reshape(-1) for a in (joints, ys, xs))
        values = np.zeros((len(joints), len(self.sources)), np.float32)
        if len(joints) == 0:
            return values
        width = self.shape[3]
        pairs, inverse = np.unique(joints * self.shape[2] + ys, return_inverse=True)
        pair_joints, pair_rows = np.divmod(pairs, self.shape[2])
        for t, source in enumerate(self.sources):
            rows = _full_rows(source, pair_joints, pair_rows).numpy().reshape(-1)
            values[:, t] = rows[inverse.reshape(-1) * width + xs]
        return values

    def _projected(self, source, channels):
        maps = source.raw[torch.from_numpy(channels)][None]
        if source.stage_factor == 2:
            maps = _resize(maps, source.half_size())
        if source.mirror:
            maps = torch.flip(maps, [3])
        if source.project_factor == 2:
            maps = _resize(maps, source.full_size())
        return maps                                                               # (1, n, H, W)

    def joint_map(self, joint):
        maps = [self._projected(source, source.channels[joint:joint + 1])[0, 0].numpy() for source in self.sources]
        return np.stack(maps, axis=-1)

    def full(self):
        return stack_tag_maps([torch.unsqueeze(self._projected(source, source.channels), 4)
                               for source in self.sources])


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
    if not sources:
        return None
    return ProjectedTagMaps(sources, num_joints)
