"""Timing of the decoder stage by stage: the fast path against the official loops (reference) on the same maps.

`time_decoders` calls the real decoder, `codec.parse(..., timings=...)`, which records the seconds of its own
steps (NMS + top-k, matching, adjust, refine); the back-projection is timed after it. Decoder thresholds and
switches other than those it takes as arguments keep parse's defaults (the official experiment values).
"""
import dataclasses
import statistics
import time

import numpy as np

from higherhrnet.codec import DecoderParams, parse
from higherhrnet.codec.backprojection import get_final_preds

# Stages after the aggregation ("total" is their sum; the aggregation is reported beside them).
STAGES = ("top_k", "match", "adjust", "refine", "back_projection")


def time_decoders(det, tags, repeats=3, max_people=30, nms_kernel=5, nms_padding=2, detection_threshold=0.1,
                  warmup=0, center=None, scale=None, paths=("fast", "reference"), make_maps=None):
    """Median milliseconds per decoder stage for one image, fast path and reference.

    det: (1, J, H, W) float32 tensor, tags: (1, J, H, W, T) float32 tensor (tags per joint).
    make_maps: optional {path: function() -> (det, tags)} that builds that path's decoder inputs afresh
    for every run (PosePipeline.aggregate); its time is the 'aggregation' stage. A path without one reads det and tags (aggregation 0).
    center (2,), scale (2,): the test-resize geometry for the back-projection stage (default: the map
    itself, i.e. an image of the map's size). paths: which of 'fast' / 'reference' (parse's `fast`) to time.
    The report holds per-stage medians over `repeats` runs (after `warmup` untimed ones): {path: {stage:
    ms}} with stages aggregation, top_k (NMS + top-k), match, adjust, refine, back_projection and total
    (the sum of all but aggregation), plus 'num_persons', 'num_missing' (joints refine searches for, from
    one untimed run without refine), 'identical' (both paths gave the same persons and scores, None with
    one path) and 'outputs' {path: (refined, scores, final)}.
    """
    heatmap_size = (det.shape[3], det.shape[2])
    if center is None:
        center = np.array([int(heatmap_size[0] / 2.0 + 0.5), int(heatmap_size[1] / 2.0 + 0.5)])
        scale = np.array([heatmap_size[0], heatmap_size[1]]) / 200.0
    decoders = {path: DecoderParams(max_people=max_people, nms_kernel=nms_kernel, nms_padding=nms_padding,
                                    detection_threshold=detection_threshold, fast=path == "fast")
                for path in ("fast", "reference")}
    make_maps = make_maps or {}
    report, outputs = {}, {}
    for name in paths:
        build = make_maps.get(name, lambda: (det, tags))

        def run(samples):
            start = time.perf_counter()
            run_det, run_tags = build()
            steps = {"aggregation": time.perf_counter() - start}
            grouped, scores = parse(run_det, run_tags, decoders[name], timings=steps)
            start = time.perf_counter()
            final = get_final_preds(grouped[0], center, scale, heatmap_size)
            steps["back_projection"] = time.perf_counter() - start
            for stage in ("aggregation",) + STAGES:
                samples.setdefault(stage, []).append(steps.get(stage, 0.0) * 1000.0)
            return grouped[0], scores, final

        for _ in range(warmup):
            run({})
        samples = {}
        for _ in range(max(1, repeats)):
            refined, scores, final = run(samples)
        times = {stage: statistics.median(values) for stage, values in samples.items()}
        times["total"] = sum(times[stage] for stage in STAGES)
        report[name] = times
        outputs[name] = (refined, scores, final)
    adjusted = parse(*make_maps.get(paths[0], lambda: (det, tags))(),
                     dataclasses.replace(decoders[paths[0]], refine=False))[0][0]
    report["num_persons"] = len(adjusted)
    report["num_missing"] = int(np.sum(adjusted[:, :, 2] == 0)) if len(adjusted) else 0
    report["identical"] = None
    if len(outputs) == 2:
        (fast, fast_scores, _), (ref, ref_scores, _) = outputs["fast"], outputs["reference"]
        report["identical"] = bool(np.array_equal(fast, ref) and np.array_equal(fast_scores, ref_scores))
    report["outputs"] = outputs
    return report
