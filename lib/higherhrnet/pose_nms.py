"""Person filters applied after the test pipeline: OKS pose NMS and a minimum person score.

Both are OFF by default: the official evaluation keeps every person (algorithm.md §6.8, 7.1), and so do we unless
asked. They are the post-processing of mmpose 0.x's bottom-up evaluation (`use_nms`, `oks_thr` 0.9),
also used by DEKR:

* **pose NMS** (TEST.POSE_NMS, threshold TEST.POSE_NMS_OKS): greedy. Visit the persons by descending
  score; keep the current one and drop every remaining person whose OKS with it is above the threshold.
  OKS(a, b) = mean over joints of exp(-d^2 / (2 * s^2 * v)) with d the joint distance in image pixels,
  v = (area_a + area_b) / 2 + eps, s = 2 * sigma (the dataset's COCO / CrowdPose OKS sigmas); a person's
  area is the area of the box spanning all its joints (missing ones included), as mmpose computes it.
  Equal scores are visited in pipeline order (mmpose's quicksort order is arbitrary there).
* **minimum person score** (TEST.MIN_PERSON_SCORE): drop persons whose score is below it (0 keeps all).

Persons keep their pipeline order: the filters only remove entries. Each person is a (J, C) array,
C >= 3: x (column), y (row) in image pixels, joint score, optional tag columns.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from higherhrnet.keypoints import COCO_OKS_SIGMAS, CROWDPOSE_OKS_SIGMAS
from higherhrnet.errors import ConfigError


def oks_sigmas(num_joints):
    """OKS sigmas for a joint count: 17 COCO, 14 CrowdPose (18 / 15 with a centre joint, which OKS ignores)."""
    if num_joints in (17, 18):
        return COCO_OKS_SIGMAS
    if num_joints in (14, 15):
        return CROWDPOSE_OKS_SIGMAS
    raise ConfigError(f"pose NMS: no OKS sigmas known for {num_joints} joints (COCO has 17, CrowdPose 14); "
                      "set DATASET.KEYPOINTS.OKS_SIGMAS or pass sigmas explicitly")


def keypoint_box_areas(keypoints):
    """Area of the box spanning all joints of each person: keypoints (P, J, >=2) -> (P,) float64."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    extent = keypoints[:, :, :2].max(axis=1) - keypoints[:, :, :2].min(axis=1)
    return extent[:, 0] * extent[:, 1]


def oks_to_others(keypoints, areas, index, others, sigmas):
    """OKS between person `index` and each person of `others` (as mmpose 0.x `oks_iou`, no visibility test).

    keypoints: (P, J, >=2) image pixels; areas: (P,) box areas; others: (K,) indices; sigmas: (J',) with
    J' <= J (only the first J' joints count). Returns (K,) float64.
    """
    variances = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2
    num_joints = len(variances)
    reference = keypoints[index, :num_joints, :2]
    candidates = keypoints[others, :num_joints, :2]
    squared_distance = ((candidates - reference) ** 2).sum(axis=2)
    scale = (areas[index] + areas[others]) / 2.0 + np.spacing(1)
    exponent = squared_distance / variances / scale[:, None] / 2.0
    return np.exp(-exponent).mean(axis=1)


def oks_nms(keypoints, scores, oks_threshold=0.9, sigmas=None):
    """Indices of the persons kept by greedy OKS NMS, in ascending (pipeline) order.

    keypoints: (P, J, >=2) or a list of P (J, >=2) arrays, image pixels; scores: (P,) person scores;
    oks_threshold: a person is dropped when its OKS with a kept, higher-scoring person is > this;
    sigmas: per-joint OKS sigmas (default: `oks_sigmas(J)`). Returns an int64 array.
    """
    if len(keypoints) == 0:
        return np.zeros(0, dtype=np.int64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if keypoints.ndim != 3 or keypoints.shape[2] < 2 or len(scores) != len(keypoints):
        raise ValueError(f"pose NMS: expected (P, J, >=2) keypoints and P scores, got {keypoints.shape} "
                         f"and {len(scores)} scores")
    if sigmas is None:
        sigmas = oks_sigmas(keypoints.shape[1])
    if len(sigmas) > keypoints.shape[1]:
        raise ValueError(f"pose NMS: {len(sigmas)} OKS sigmas for {keypoints.shape[1]} joints")
    areas = keypoint_box_areas(keypoints)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order):
        current, rest = order[0], order[1:]
        keep.append(current)
        overlaps = oks_to_others(keypoints, areas, current, rest, sigmas)
        order = rest[overlaps <= oks_threshold]
    return np.sort(np.asarray(keep, dtype=np.int64))


def score_filter(scores, min_score):
    """Indices of the persons whose score is >= min_score, in order (int64 array)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    return np.flatnonzero(scores >= min_score).astype(np.int64)


@dataclass(frozen=True)
class PersonFilter:
    """The optional person filters of TEST.POSE_NMS / TEST.POSE_NMS_OKS / TEST.MIN_PERSON_SCORE.

    Called as `persons, scores = person_filter(persons, scores)` on one image's pipeline output (a list of
    (J, C) arrays and a list of scores); returns lists of the kept entries. The score filter runs first,
    then the NMS. sigmas: OKS sigmas (None: chosen from the joint count, see `oks_sigmas`).
    """
    pose_nms: bool = False
    oks_threshold: float = 0.9
    min_score: float = 0.0
    sigmas: Optional[Tuple[float, ...]] = None

    @classmethod
    def from_config(cls, cfg, sigmas=None):
        """sigmas: the keypoint layout's OKS sigmas (None: chosen from the joint count, official layouts)."""
        return cls(pose_nms=bool(cfg.TEST.POSE_NMS), oks_threshold=float(cfg.TEST.POSE_NMS_OKS),
                   min_score=float(cfg.TEST.MIN_PERSON_SCORE),
                   sigmas=None if sigmas is None else tuple(float(s) for s in sigmas))

    @property
    def enabled(self):
        return self.pose_nms or self.min_score > 0

    def keep_indices(self, persons, scores):
        """Indices (ascending) of the persons both filters keep."""
        if len(persons) != len(scores):
            raise ValueError(f"person filter: {len(persons)} persons but {len(scores)} scores")
        keep = np.arange(len(persons), dtype=np.int64)
        if self.min_score > 0:
            keep = score_filter(scores, self.min_score)
        if self.pose_nms and len(keep) > 1:
            kept_persons = np.asarray([persons[i] for i in keep])
            kept_scores = np.asarray(scores, dtype=np.float64)[keep]
            keep = keep[oks_nms(kept_persons, kept_scores, self.oks_threshold, self.sigmas)]
        return keep

    def __call__(self, persons, scores):
        if not self.enabled:
            return list(persons), list(scores)
        keep = self.keep_indices(persons, scores)
        return [persons[i] for i in keep], [scores[i] for i in keep]
