"""Reference decoder steps, written as the official code computes them (slow, straightforward loops).

Used by the tests to prove that the fast path (`candidates.py`, `refinement.py`) gives identical
outputs, and selectable with TEST.FAST_DECODER False. Same inputs, outputs and conventions as the fast
functions of the same name.
"""
import numpy as np
import torch
from munkres import Munkres

from higherhrnet.codec.candidates import gather_top_k


def top_k_reference(det, tags, max_people=30, kernel=5, padding=2, tag_per_joint=True):
    """NMS with `torch.nn.MaxPool2d(kernel, 1, padding)` and equality test, then per-joint top-k."""
    pooled = torch.nn.MaxPool2d(kernel, 1, padding)(det)
    det_nms = det * torch.eq(pooled, det).float()
    return gather_top_k(det_nms, tags, max_people, tag_per_joint)


def munkres_on_array(cost):
    """The official call: `Munkres().compute` directly on the NumPy float64 cost matrix."""
    return Munkres().compute(cost)


def adjust_reference(persons, det):
    """Quarter-pixel adjust, joint by joint, reading det (J, H, W) as a torch tensor as officially."""
    det = torch.as_tensor(det)
    adjusted = np.array(persons, dtype=np.float32, copy=True)
    height, width = det.shape[1:]
    for person in adjusted:
        for joint, row in enumerate(person):
            if row[2] > 0:
                x, y = row[0], row[1]
                col, line = int(x), int(y)
                heatmap = det[joint]
                if heatmap[line, min(col + 1, width - 1)] > heatmap[line, max(col - 1, 0)]:
                    x += 0.25
                else:
                    x -= 0.25
                if heatmap[min(line + 1, height - 1), col] > heatmap[max(0, line - 1), col]:
                    y += 0.25
                else:
                    y -= 0.25
                row[0:2] = (x + 0.5, y + 0.5)
    return adjusted


def _refine_person(det, tags, keypoints):
    """Official per-person refine: a full tag-distance map and argmax for every joint."""
    detected_tags = []
    for joint in range(keypoints.shape[0]):
        if keypoints[joint, 2] > 0:
            x, y = keypoints[joint][:2].astype(np.int32)
            detected_tags.append(tags[joint, y, x])
    mean_tag = np.mean(detected_tags, axis=0)

    candidates = []
    for joint in range(keypoints.shape[0]):
        heatmap = det[joint, :, :]
        distance = ((tags[joint, :, :] - mean_tag[None, None, :]) ** 2).sum(axis=2) ** 0.5
        score = heatmap - np.round(distance)
        y, x = np.unravel_index(np.argmax(score), heatmap.shape)
        value = heatmap[y, x]
        cx, cy = x + 0.5, y + 0.5
        if heatmap[y, min(x + 1, heatmap.shape[1] - 1)] > heatmap[y, max(x - 1, 0)]:
            cx += 0.25
        else:
            cx -= 0.25
        if heatmap[min(y + 1, heatmap.shape[0] - 1), x] > heatmap[max(0, y - 1), x]:
            cy += 0.25
        else:
            cy -= 0.25
        candidates.append((cx, cy, value))
    candidates = np.array(candidates)

    for joint in range(det.shape[0]):
        if candidates[joint, 2] > 0 and keypoints[joint, 2] == 0:
            keypoints[joint, :2] = candidates[joint, :2]
            keypoints[joint, 2] = candidates[joint, 2]
    return keypoints


def refine_reference(persons, det, tags):
    """Refine person by person (det (J, H, W) float32, tags (J, H, W, T) float32), as officially."""
    det = np.asarray(det.cpu().numpy() if isinstance(det, torch.Tensor) else det)
    tags = np.asarray(tags.cpu().numpy() if isinstance(tags, torch.Tensor) else tags)
    if tags.ndim == 3:
        tags = tags[:, :, :, None]
    refined = np.array(persons, dtype=np.float32, copy=True)
    for index in range(len(refined)):
        if (refined[index, :, 2] > 0).any():  # deliberate: skip a person without tag (official crash)
            refined[index] = _refine_person(det, tags, refined[index])
    return refined
