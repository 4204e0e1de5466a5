"""Timing of the decoder: the fast path against the official loops (reference), stage by stage."""
import time

import numpy as np

from higherhrnet.codec import candidates, reference, refinement
from higherhrnet.codec.matching import grouping_joint_order, match_by_tag


def _best_time_ms(function, repeats):
    """Best wall time over `repeats` calls, in milliseconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0, result


def time_decoders(det, tags, repeats=3, max_people=30, nms_kernel=5, nms_padding=2, detection_threshold=0.1):
    """Best-of-`repeats` milliseconds per decoder stage for one image, fast path and reference.

    det: (1, J, H, W) float32 tensor, tags: (1, J, H, W, T) float32 tensor (tags per joint).
    Returns {'fast': {stage: ms}, 'reference': {stage: ms}} with stages top_k, match, adjust, refine,
    total (sum of the four), and 'num_persons', 'num_missing' (joints refine searches for).
    """
    det_image, tag_image = det[0].numpy(), tags[0].numpy()
    joint_order = grouping_joint_order(det.shape[1])
    paths = {
        "fast": (candidates.top_k, "munkres", refinement.adjust, refinement.refine),
        "reference": (reference.top_k_reference, reference.munkres_on_array, reference.adjust_reference,
                      reference.refine_reference),
    }
    report = {}
    for name, (top_k, matcher, adjust, refine) in paths.items():
        times = {}
        times["top_k"], (tag_k, loc_k, val_k) = _best_time_ms(
            lambda: top_k(det, tags, max_people, nms_kernel, nms_padding), repeats)
        times["match"], persons = _best_time_ms(
            lambda: match_by_tag(tag_k[0], loc_k[0], val_k[0], joint_order=joint_order, max_people=max_people,
                                 detection_threshold=detection_threshold, matcher=matcher), repeats)
        times["adjust"], adjusted = _best_time_ms(lambda: adjust(persons, det_image), repeats)
        times["refine"], _ = _best_time_ms(lambda: refine(adjusted, det_image, tag_image), repeats)
        times["total"] = times["top_k"] + times["match"] + times["adjust"] + times["refine"]
        report[name] = times
        report["num_persons"] = len(persons)
        report["num_missing"] = int(np.sum(adjusted[:, :, 2] == 0)) if len(adjusted) else 0
    return report


def format_report(report):
    """One line per path: milliseconds per stage."""
    lines = []
    for name in ("fast", "reference"):
        stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in report[name].items())
        lines.append(f"{name:>9}: {stages} ms")
    speedup = report["reference"]["total"] / max(report["fast"]["total"], 1e-9)
    lines.append(f"  speed-up x{speedup:.1f} ({report['num_persons']} persons, "
                 f"{report['num_missing']} missing joints refined)")
    return "\n".join(lines)

