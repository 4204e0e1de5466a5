"""From COCO-style annotation dicts to training arrays: kept persons, joints, ignore mask (algorithm.md §3.1-3.3).

Coordinates are original-image pixels, x = column, y = row, as written in the json `keypoints`.
"""
import warnings

import numpy as np
from pycocotools import mask as mask_utils
from ..errors import ConfigError


def training_persons(annotations):
    """The annotations that become joints rows: `iscrowd == 0 or num_keypoints > 0`, in json order.

    A non-crowd person with 0 keypoints is kept (an all-zero row) and is also masked out by `ignore_mask`
    (official behaviour, algorithm.md §3.1 [Q]).
    """
    return [ann for ann in annotations if ann["iscrowd"] == 0 or ann["num_keypoints"] > 0]


def joints_array(annotations, num_joints, with_center=False):
    """Joints (N, num_joints, 3) float64 of (x, y, v) from the `keypoints` of N annotations.

    with_center: the last joint is the person centre, the mean (x, y) of the labelled joints (v != 0),
    v = 1; it stays (0, 0, 0) for a person without labelled joints (algorithm.md §3.2). `num_joints` counts it.
    """
    num_labelled = num_joints - 1 if with_center else num_joints
    joints = np.zeros((len(annotations), num_joints, 3), dtype=np.float64)
    if not annotations:
        return joints
    keypoints = np.array([ann["keypoints"] for ann in annotations], dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] != 3 * num_labelled:
        raise ConfigError(f"annotations carry {keypoints.shape[-1] // 3} keypoints per person, the config expects "
                          f"{num_labelled} (DATASET.NUM_JOINTS {num_joints}, WITH_CENTER {with_center})")
    joints[:, :num_labelled] = keypoints.reshape(len(annotations), num_labelled, 3)
    if with_center:
        coordinate_sums = np.sum(joints[:, :-1, :2], axis=1)
        num_labelled_per_person = np.count_nonzero(joints[:, :-1, 2], axis=1)
        has_labels = num_labelled_per_person > 0
        joints[has_labels, -1, :2] = coordinate_sums[has_labels] / num_labelled_per_person[has_labels, None]
        joints[has_labels, -1, 2] = 1
    return joints


def _segmentation_rles(segmentation, height, width):
    """RLEs of a segmentation (polygon list, uncompressed or compressed RLE), as a list."""
    rles = mask_utils.frPyObjects(segmentation, height, width)
    return rles if isinstance(rles, list) else [rles]


def _decode(rle):
    """Binary (H, W) uint8 of one RLE (pycocotools' NumPy-2 DeprecationWarning about __array__ silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle)


def ignore_mask(annotations, height, width):
    """COCO ignore mask (H, W) bool, True = the pixel counts in the heatmap loss (algorithm.md §3.3).

    False under every crowd region and under every non-crowd person with 0 keypoints. `annotations` are all
    annotations of the image (before `training_persons`). The official sum-then-`< 0.5` test equals "not
    covered by any of these regions", which is how it is computed here.
    """
    rles = []
    for ann in annotations:
        if ann["iscrowd"] or ann["num_keypoints"] == 0:
            rles.extend(_segmentation_rles(ann["segmentation"], height, width))
    if not rles:
        return np.ones((height, width), dtype=bool)
    union = mask_utils.merge(rles, intersect=False) if len(rles) > 1 else rles[0]
    return _decode(union) == 0
