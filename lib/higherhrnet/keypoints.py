"""Dataset keypoint definitions: joint names, flip indices, grouping order, skeletons and OKS sigmas.

Joint indices are 0-based. A flip index list `f` means: after a horizontal flip, joint/channel k holds
what was joint/channel f[k] before (SPEC 4.3). The same tables serve training flips and flip testing.
"""
import numpy as np

COCO_KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
CROWDPOSE_KEYPOINT_NAMES = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck",
)

COCO_FLIP_INDEX = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
CROWDPOSE_FLIP_INDEX = (1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13)

# Order in which the grouping visits joint types (official Params.joint_order): head, shoulders, hips,
# elbows, wrists, knees, ankles. CrowdPose uses the first 14 entries of this COCO list (an official quirk,
# SPEC 6.6 / B12), not an order of its own.
GROUPING_JOINT_ORDER = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)

# Limbs drawn in visualisations, as (joint a, joint b) pairs (SPEC 9.4).
COCO_SKELETON = (
    (0, 1), (1, 2), (2, 0), (1, 3), (2, 4), (3, 5), (4, 6), (5, 6), (5, 11), (6, 12), (11, 12),
    (5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16),
)
CROWDPOSE_SKELETON = (
    (12, 13), (13, 0), (13, 1), (0, 1), (0, 6), (1, 7), (6, 7),
    (0, 2), (2, 4), (1, 3), (3, 5), (6, 8), (8, 10), (7, 9), (9, 11),
)

# OKS per-keypoint sigmas (COCO evaluation constants; CrowdPose adds head and neck).
COCO_OKS_SIGMAS = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
CROWDPOSE_OKS_SIGMAS = np.array(
    [.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79]) / 10.0


def dataset_family(dataset_name):
    """'coco' or 'crowd_pose', chosen by substring of a DATASET.DATASET / DATASET_TEST name, as officially."""
    if "coco" in dataset_name:
        return "coco"
    if "crowd_pose" in dataset_name:
        return "crowd_pose"
    raise ValueError(f"DATASET name {dataset_name!r}: cannot tell the keypoint layout; "
                     "expected a name containing 'coco' or 'crowd_pose'")


def flip_index(dataset_name, with_center=False):
    """Flip index list for a dataset name; with a centre joint the extra last joint maps to itself."""
    base = COCO_FLIP_INDEX if dataset_family(dataset_name) == "coco" else CROWDPOSE_FLIP_INDEX
    index = list(base)
    if with_center:
        index.append(len(base))
    return index


def skeleton(num_joints):
    """Skeleton pairs for a joint count: 17 (or 18 with centre) -> COCO, 14 (or 15) -> CrowdPose."""
    if num_joints in (17, 18):
        return COCO_SKELETON
    if num_joints in (14, 15):
        return CROWDPOSE_SKELETON
    return ()


def joint_names(num_joints):
    """Joint names for a joint count: COCO (17) or CrowdPose (14), each with an optional last 'center'
    joint (18 / 15); other counts get 'joint_0', 'joint_1', ..."""
    for names in (COCO_KEYPOINT_NAMES, CROWDPOSE_KEYPOINT_NAMES):
        if num_joints == len(names):
            return names
        if num_joints == len(names) + 1:
            return names + ("center",)
    return tuple(f"joint_{index}" for index in range(num_joints))
