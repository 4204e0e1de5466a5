"""Timing of the decoder stage by stage: the fast path against the official loops (reference) on the same maps.

`time_decoders` calls the steps of `codec.parse` itself (NMS + top-k, matching, adjust, refine), then the
back-projection, with a clock between them; the official decoder thresholds and switches other than those
it takes as arguments keep their defaults.
"""
import statistics
import time

import numpy as np

from higherhrnet.codec import candidates, reference, refinement
from higherhrnet.codec.backprojection import get_final_preds
from higherhrnet.codec.matching import grouping_joint_order, match_by_tag
from higherhrnet.codec.heat_maps import ProjectedHeatmaps
from higherhrnet.codec.tag_maps import ProjectedTagMaps

# Stages after the aggregation ("total" is their sum; the aggregation is reported beside them).
STAGES = ("top_k", "match", "adjust", "refine", "back_projection")


def time_decoders(det, tags, repeats=3, max_people=30, nms_kernel=5, nms_padding=2, detection_threshold=0.1,
                  warmup=0, center=None, scale=None, paths=("fast", "reference"), make_maps=None):
    """Median milliseconds per decoder stage for one image, fast path and reference.

    det: (1, J, H, W) float32 tensor, tags: (1, J, H, W, T) float32 tensor (tags per joint).
    make_maps: optional {path: function() -> (det, tags)} that builds that path's decoder inputs afresh
    for every run, e.g. the aggregation into lazy maps (`ProjectedHeatmaps`, `ProjectedTagMaps`), which
    keep what they compute and so must not be reused between timed runs; its time is the 'aggregation'
    stage. A path without one reads det and tags (aggregation 0).
    center (2,), scale (2,): the test-resize geometry for the back-projection stage (default: the map
    itself, i.e. an image of the map's size). paths: which of 'fast' / 'reference' to time.
    Every run goes through all stages in order; the report holds per-stage medians over `repeats` runs
    (after `warmup` untimed ones): {path: {stage: ms}} with stages aggregation, top_k (NMS + top-k),
    match, adjust, refine, back_projection and total (the sum of all but aggregation), plus
    'num_persons', 'num_missing' (joints refine searches for), 'identical' (both paths gave the same
    persons and scores, None with one path) and 'outputs' {path: (refined, scores, final)}.
    """
    joint_order = grouping_joint_order(det.shape[1])
    heatmap_size = (det.shape[3], det.shape[2])
    if center is None:
        center = np.array([int(heatmap_size[0] / 2.0 + 0.5), int(heatmap_size[1] / 2.0 + 0.5)])
        scale = np.array([heatmap_size[0], heatmap_size[1]]) / 200.0
    functions = {
        "fast": (lambda *args: candidates.top_k_above_threshold(*args, threshold=detection_threshold), "munkres",
                 refinement.adjust, refinement.refine),
        "reference": (reference.top_k_reference, reference.munkres_on_array, reference.adjust_reference,
                      reference.refine_reference),
    }
    make_maps = make_maps or {}
    report, outputs = {}, {}
    for name in paths:
        top_k, matcher, adjust, refine = functions[name]
        build = make_maps.get(name, lambda: (det, tags))

        def run(times):
            start = time.perf_counter()
            run_det, run_tags = build()
            marks = [("aggregation", time.perf_counter())]
            tag_k, loc_k, val_k = top_k(run_det, run_tags, max_people, nms_kernel, nms_padding)
            marks.append(("top_k", time.perf_counter()))
            persons = match_by_tag(tag_k[0], loc_k[0], val_k[0], joint_order=joint_order, max_people=max_people,
                                   detection_threshold=detection_threshold, matcher=matcher)
            marks.append(("match", time.perf_counter()))
            det_image = run_det if isinstance(run_det, ProjectedHeatmaps) else run_det[0].numpy()
            tag_image = run_tags if isinstance(run_tags, ProjectedTagMaps) else run_tags[0].numpy()
            adjusted = adjust(persons, det_image)
            marks.append(("adjust", time.perf_counter()))
            scores = refinement.person_scores(adjusted)
            refined = refine(adjusted, det_image, tag_image)
            marks.append(("refine", time.perf_counter()))
            final = get_final_preds(refined, center, scale, heatmap_size)
            marks.append(("back_projection", time.perf_counter()))
            for stage, moment in marks:
                times.setdefault(stage, []).append((moment - start) * 1000.0)
                start = moment
            return persons, adjusted, refined, scores, final

        for _ in range(warmup):
            run({})
        samples = {}
        for _ in range(max(1, repeats)):
            persons, adjusted, refined, scores, final = run(samples)
        times = {stage: statistics.median(values) for stage, values in samples.items()}
        times["total"] = sum(times[stage] for stage in STAGES)
        report[name] = times
        outputs[name] = (refined, scores, final)
        report["num_persons"] = len(persons)
        report["num_missing"] = int(np.sum(adjusted[:, :, 2] == 0)) if len(adjusted) else 0
    report["identical"] = None
    if len(outputs) == 2:
        (fast, fast_scores, _), (ref, ref_scores, _) = outputs["fast"], outputs["reference"]
        report["identical"] = bool(np.array_equal(fast, ref) and np.array_equal(fast_scores, ref_scores))
    report["outputs"] = outputs
    return report
