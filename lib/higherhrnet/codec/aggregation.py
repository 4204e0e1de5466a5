"""Turning raw network outputs into the maps the decoder reads (algorithm.md §6.3, 6.4).

Per test scale, `aggregate_stage_outputs` averages the stage heatmaps (and the flipped pass) and collects
the tag maps; `accumulate_scale` adds one scale into the running sum; `finish_aggregation` divides by the
number of scales and stacks the tag maps along a last axis (T). All maps are torch float32 tensors
(N, J, H, W); "bilinear" is `F.interpolate(..., mode='bilinear', align_corners=False)`. The order of the
float operations is the official one (it matters at the rounding level only).
"""
import numpy as np
import torch
import torch.nn.functional as F
from higherhrnet.errors import ConfigError


def _resize(maps, size_hw):
    """Bilinear resize of (N, C, H, W) maps to size_hw = (H', W'), align_corners=False."""
    return F.interpolate(maps, size=tuple(size_hw), mode="bilinear", align_corners=False)


def _check_stage_switches(num_stages, switches):
    for name, values in switches.items():
        if len(values) < num_stages:
            raise ConfigError(f"{name} has {len(values)} entries for {num_stages} network outputs (one per stage)")


def _collect_one_pass(outputs, num_joints, use_heatmaps, use_tags, heatmaps_first, flip_index, permute_tags):
    """Heatmap sum, heatmap count and tag maps of one network pass (flip_index given = flipped pass).

    Stages before the last are resized to the last stage's size first; a flipped pass is then mirrored
    back along W and its heatmap channels (and tag channels if permute_tags) permuted by flip_index.
    Heatmaps are summed as 0 + stage 0 + stage 1 + ... (official order).
    """
    final_size = outputs[-1].shape[2:]
    heatmap_sum, num_heatmaps, tags = 0, 0, []
    for stage, output in enumerate(outputs):
        if not use_tags[stage] and heatmaps_first[stage]:
            output = output[:, :num_joints]  # resizing is per channel: the unused tag channels are skipped
        if stage != len(outputs) - 1:
            output = _resize(output, final_size)
        if flip_index is not None:
            output = torch.flip(output, [3])
        tag_offset = num_joints if heatmaps_first[stage] else 0
        if use_heatmaps[stage]:
            heatmaps = output[:, :num_joints]
            if flip_index is not None:
                heatmaps = heatmaps[:, flip_index]
            heatmap_sum = heatmap_sum + heatmaps
            num_heatmaps += 1
        if use_tags[stage]:
            stage_tags = output[:, tag_offset:]
            if flip_index is not None and permute_tags:
                stage_tags = stage_tags[:, flip_index]
            tags.append(stage_tags)
    return heatmap_sum, num_heatmaps, tags


def aggregate_stage_outputs(outputs, outputs_flipped=None, *, num_joints, with_heatmaps_loss, with_ae_loss,
                            test_with_heatmaps, test_with_ae, flip_index=None, tag_per_joint=True,
                            drop_center=False, project_to_size=None, with_tags=True):
    """Heatmap and tag lists of one test scale, from the network's per-stage outputs (algorithm.md §6.3).

    outputs: list of stage outputs (N, C_s, H_s, W_s) for the input, finest stage last; a stage with a
      heatmap loss holds num_joints heatmaps first, then its tag maps (if it has an AE loss).
    outputs_flipped: the same for the input mirrored along W (raw, *not* mirrored back), or None.
    with_heatmaps_loss / with_ae_loss: LOSS.WITH_HEATMAPS_LOSS / LOSS.WITH_AE_LOSS per stage (they fix
      the channel layout); test_with_heatmaps / test_with_ae: TEST.WITH_HEATMAPS / TEST.WITH_AE per stage.
    flip_index: joint permutation of a flip (new channel k = old channel flip_index[k]); required with
      outputs_flipped. Tag maps are permuted only when tag_per_joint.
    drop_center: DATASET.WITH_CENTER and TEST.IGNORE_CENTER: drop the last channel of every map.
    project_to_size: (w, h) base size (TEST.PROJECT2IMAGE) or None: bilinear resize of every map to it.
    with_tags: False = heatmaps only (tags = []).
    Returns (heatmaps, tags): heatmaps = [H] or [H, H_flipped], each (N, J, H', W') = mean of the used
    stages' heatmaps at the last stage's size; tags = list of (N, J or 1, H', W') tag maps, normal pass
    first then flipped pass, stage by stage.
    """
    if not outputs:
        raise ValueError("aggregate_stage_outputs: empty list of network outputs")
    num_stages = len(outputs)
    _check_stage_switches(num_stages, {"with_heatmaps_loss": with_heatmaps_loss, "with_ae_loss": with_ae_loss,
                                       "test_with_heatmaps": test_with_heatmaps, "test_with_ae": test_with_ae})
    use_heatmaps = [bool(with_heatmaps_loss[s] and test_with_heatmaps[s]) for s in range(num_stages)]
    use_tags = [bool(with_tags and with_ae_loss[s] and test_with_ae[s]) for s in range(num_stages)]
    if not any(use_heatmaps):
        raise ConfigError("aggregate_stage_outputs: no stage has both a heatmap loss and TEST.WITH_HEATMAPS")

    heatmap_sum, num_heatmaps, tags = _collect_one_pass(
        outputs, num_joints, use_heatmaps, use_tags, with_heatmaps_loss, flip_index=None, permute_tags=False)
    heatmaps = [heatmap_sum / num_heatmaps]

    if outputs_flipped is not None:
        if flip_index is None:
            raise ValueError("aggregate_stage_outputs: flipped outputs given without a flip_index")
        if len(outputs_flipped) != num_stages:
            raise ValueError(f"aggregate_stage_outputs: {len(outputs_flipped)} flipped outputs for "
                             f"{num_stages} normal outputs")
        heatmap_sum, num_heatmaps, flipped_tags = _collect_one_pass(
            outputs_flipped, num_joints, use_heatmaps, use_tags, with_heatmaps_loss, list(flip_index),
            permute_tags=tag_per_joint)
        heatmaps.append(heatmap_sum / num_heatmaps)
        tags.extend(flipped_tags)

    if drop_center:
        heatmaps = [maps[:, :-1] for maps in heatmaps]
        tags = [maps[:, :-1] for maps in tags]

    if project_to_size:
        size_hw = (project_to_size[1], project_to_size[0])
        heatmaps = [_resize(maps, size_hw) for maps in heatmaps]
        tags = [_resize(maps, size_hw) for maps in tags]
    return heatmaps, tags


def scales_in_processing_order(scale_factors):
    """TEST.SCALE_FACTOR sorted in descending order (the official processing order), validated.

    Tags are collected at scale 1.0 only (or at the single scale of a one-scale list), so several scales
    without 1.0 are rejected here. Deliberate difference (algorithm.md B13): the official code crashes later instead.
    """
    scales = sorted((float(s) for s in scale_factors), reverse=True)
    if not scales:
        raise ConfigError("TEST.SCALE_FACTOR is empty: give at least one test scale, e.g. [1.0]")
    if any(s <= 0 for s in scales):
        raise ConfigError(f"TEST.SCALE_FACTOR {list(scale_factors)} has a non-positive scale")
    if len(scales) > 1 and 1.0 not in scales:
        raise ConfigError(f"TEST.SCALE_FACTOR {list(scale_factors)} has several scales but no 1.0: "
                          "tags are only taken at scale 1.0, add it to the list")
    return scales


def accumulate_scale(final_heatmaps, tags_list, heatmaps, tags, *, scale_factor, num_scales, flip_test,
                     project_to_image):
    """Add one test scale to the running heatmap sum and tag list (official `aggregate_results`).

    final_heatmaps: running sum (N, J, H, W) of flip-averaged heatmaps, or None at the first scale (then
      started from a copy, so the caller's maps are never modified); later scales add to it in place.
    tags_list: list of (N, J, H, W, 1) tag maps, appended to.
    heatmaps, tags: the lists returned by `aggregate_stage_outputs` for this scale.
    scale_factor: this scale; num_scales: len(TEST.SCALE_FACTOR); flip_test: average heatmaps[0] and
    heatmaps[1]; project_to_image: TEST.PROJECT2IMAGE (maps already share the base size).
    Tags are kept only at scale 1.0 or when there is a single scale; without projection they are first
    resized to the running sum's size. Returns (final_heatmaps, tags_list).
    """
    if scale_factor == 1 or num_scales == 1:
        if final_heatmaps is not None and not project_to_image:
            tags = [_resize(maps, final_heatmaps.shape[2:]) for maps in tags]
        for maps in tags:
            tags_list.append(torch.unsqueeze(maps, dim=4))

    if flip_test:
        if len(heatmaps) < 2:
            raise ValueError("accumulate_scale: flip_test needs the heatmaps of the flipped pass too")
        heatmaps_avg = torch.add(heatmaps[0], heatmaps[1]).div_(2.0)  # (h0 + h1) / 2.0, one new tensor
    else:
        heatmaps_avg = heatmaps[0]

    if final_heatmaps is None:
        # The flip average is already a new tensor; the caller's own maps are copied.
        final_heatmaps = heatmaps_avg if flip_test else heatmaps_avg.clone()
    elif project_to_image:
        final_heatmaps += heatmaps_avg
    else:
        final_heatmaps += _resize(heatmaps_avg, final_heatmaps.shape[2:])
    return final_heatmaps, tags_list


def finish_aggregation(final_heatmaps, tags_list, num_scales):
    """Decoder inputs after the last scale: (det (N, J, H, W) = sum / num_scales, tags (N, J, H, W, T))."""
    if final_heatmaps is None or not tags_list:
        raise ValueError("finish_aggregation: no heatmaps or no tag maps were collected "
                         "(is 1.0 among several test scales, and does a stage have TEST.WITH_AE?)")
    if num_scales > 1:  # x / 1.0 == x: one scale needs no pass over the maps
        final_heatmaps = final_heatmaps / float(num_scales)
    return final_heatmaps, stack_tag_maps(tags_list)


def stack_tag_maps(tags_list):
    """Concatenate (N, J, H, W, 1) tag maps into (N, J, H, W, T): `torch.cat(tags_list, dim=4)`, same values.

    On CPU, NumPy's concatenate interleaves the maps faster than torch.cat along a last axis of size one;
    other devices use torch.cat.
    """
    if all(maps.device.type == "cpu" and maps.dtype == torch.float32 and not maps.requires_grad
           for maps in tags_list):
        return torch.from_numpy(np.concatenate([maps.numpy() for maps in tags_list], axis=4))
    return torch.cat(tags_list, dim=4)
