"""The decoder entry point: candidates -> grouping -> adjust -> scores -> refine (official HeatmapParser.parse).

Every threshold and switch comes in one `DecoderParams` (defaults: the official experiment YAMLs).
"""
import functools
import time

import numpy as np
import torch

from higherhrnet.codec import candidates, reference, refinement
from higherhrnet.codec.decoder_params import DecoderParams
from higherhrnet.codec.matching import grouping_joint_order, match_by_tag

OFFICIAL_PARAMS = DecoderParams()


def _as_tensor(maps, name, ndim):
    maps = torch.as_tensor(maps)
    if maps.dim() != ndim:
        raise ValueError(f"parse: {name} must have {ndim} dimensions, got shape {tuple(maps.shape)}")
    if maps.shape[0] != 1:
        raise ValueError(f"parse: expected a batch of one image, got {name} with batch size {maps.shape[0]}")
    return maps.detach().float()


def _clock(timings, step, start):
    """Adds the seconds since `start` (a perf_counter value) to timings[step] when timings is a dict; now."""
    now = time.perf_counter()
    if timings is not None:
        timings[step] = timings.get(step, 0.0) + now - start
    return now


def parse(det, tags, params=OFFICIAL_PARAMS, timings=None):
    """Decode the aggregated maps of one image into persons (official `HeatmapParser.parse`).

    det: (1, J, H, W) float32 heatmaps (tensor or array); tags: (1, J, H, W, T) float32 tag maps
    ((1, 1, H, W, T) when not params.tag_per_joint).
    params: a `DecoderParams` (thresholds, NMS window, grouping order, adjust / refine switches, matcher);
    params.fast picks the fast path (candidates above the threshold only, munkres 1.1.4 re-implemented on
    arrays, vectorised adjust, pruned refine) or the official loops (`reference.py`); both give identical
    outputs.
    timings: optional dict; the seconds of each step are added to its keys 'top_k' (NMS + top-k), 'match',
    'adjust' (with the person scores) and 'refine' (absent when not run).
    Returns (grouped, scores) as officially: grouped = [persons], persons (P, J, 3 + T) float32 with rows
    (x, y, val, tag...) in heatmap pixels (x + 0.5 +- 0.25 after adjust; val 0 = missing); scores = list
    of P np.float32 person scores (mean joint value after adjust, before refine).
    """
    det = _as_tensor(det, "det", 4)
    tags = _as_tensor(tags, "tags", 5)
    num_joints = det.shape[1]
    tag_per_joint, max_people, matcher = params.tag_per_joint, params.max_people, params.matcher
    if tags.shape[1] != (num_joints if tag_per_joint else 1):
        raise ValueError(f"parse: tags have {tags.shape[1]} channels, expected "
                         f"{num_joints if tag_per_joint else 1} (tag_per_joint={tag_per_joint})")
    joint_order = params.joint_order if params.joint_order is not None else grouping_joint_order(num_joints)

    if params.fast:
        find_candidates = functools.partial(candidates.top_k_above_threshold,
                                            threshold=params.detection_threshold)
        adjust_joints, refine_joints = refinement.adjust, refinement.refine
    else:  # the official loops
        find_candidates, adjust_joints, refine_joints = (reference.top_k_reference, reference.adjust_reference,
                                                         reference.refine_reference)
        matcher = reference.munkres_on_array if matcher == "munkres" else matcher

    start = time.perf_counter()
    tag_k, loc_k, val_k = find_candidates(det, tags, max_people, params.nms_kernel, params.nms_padding,
                                          tag_per_joint)
    start = _clock(timings, "top_k", start)
    persons = match_by_tag(
        tag_k[0], loc_k[0], val_k[0], joint_order=joint_order, detection_threshold=params.detection_threshold,
        tag_threshold=params.tag_threshold, use_detection_val=params.use_detection_val,
        ignore_too_much=params.ignore_too_much, max_people=max_people, matcher=matcher)
    start = _clock(timings, "match", start)

    det_image = det[0].cpu().numpy()
    if params.adjust:
        persons = adjust_joints(persons, det_image)
    scores = refinement.person_scores(persons)
    start = _clock(timings, "adjust", start)

    if params.refine and len(persons):
        tag_image = tags[0].cpu().numpy()
        if not tag_per_joint:
            tag_image = np.tile(tag_image, (num_joints, 1, 1, 1))
        persons = refine_joints(persons, det_image, tag_image)
        _clock(timings, "refine", start)
    return [persons], scores
