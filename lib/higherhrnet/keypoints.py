"""Dataset keypoint definitions: joint names, flip indices, grouping order, skeletons and OKS sigmas.

Joint indices are 0-based. A flip index list `f` means: after a horizontal flip, joint/channel k holds
what was joint/channel f[k] before (algorithm.md §4.3). The same tables serve training flips and flip testing.

`KeypointLayout` gathers one dataset's tables; `layout_from_config` builds it from DATASET.NUM_JOINTS,
DATASET.WITH_CENTER and DATASET.KEYPOINTS (empty keys: the official COCO / CrowdPose tables for 17 / 14
joints, see docs/keypoint_layouts.md), and the rest of the package takes its fields as plain arguments.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from higherhrnet.errors import UserError

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
# algorithm.md §6.6 / B12), not an order of its own.
GROUPING_JOINT_ORDER = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)

# Limbs drawn in visualisations, as (joint a, joint b) pairs (algorithm.md §9.4).
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


OFFICIAL_NUM_JOINTS = {"coco": 17, "crowd_pose": 14}  # body joints of the official layouts (no centre)
KEYPOINTS_KEYS = ("NAMES", "FLIP_PAIRS", "SKELETON", "OKS_SIGMAS", "JOINT_ORDER")


def dataset_family(dataset_name):
    """'coco' or 'crowd_pose', chosen by substring of a DATASET.DATASET / DATASET_TEST name, as officially."""
    if "coco" in dataset_name:
        return "coco"
    if "crowd_pose" in dataset_name:
        return "crowd_pose"
    raise KeypointLayoutError(f"DATASET name {dataset_name!r}: cannot tell the keypoint layout; "
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


class KeypointLayoutError(UserError, ValueError):
    """DATASET.KEYPOINTS (or NUM_JOINTS) does not describe a usable layout; the message names the key."""


@dataclass(frozen=True)
class KeypointLayout:
    """The joints of one dataset. All indices are 0-based and count body joints only (no centre joint).

    names: J joint names; flip_index: J entries (see the module docstring); skeleton: (a, b) limbs drawn in
    pictures; oks_sigmas: J OKS sigmas (evaluation and pose NMS); joint_order: a permutation of 0..J-1, the
    order in which grouping visits joint types; with_center: the network has an extra last centre joint.
    official: 'coco' / 'crowd_pose' when every table is that dataset's official one, else None.
    """
    names: Tuple[str, ...]
    flip_index: Tuple[int, ...]
    skeleton: Tuple[Tuple[int, int], ...]
    oks_sigmas: Tuple[float, ...]
    joint_order: Tuple[int, ...]
    with_center: bool = False
    official: Optional[str] = None

    @property
    def num_body_joints(self):
        return len(self.names)

    @property
    def num_joints(self):
        """Network joint channels: body joints plus the centre joint when with_center."""
        return self.num_body_joints + (1 if self.with_center else 0)

    def flip_index_with_center(self):
        """Flip index over every network channel (the centre joint, if any, maps to itself)."""
        index = list(self.flip_index)
        if self.with_center:
            index.append(self.num_body_joints)
        return index

    def sigmas_array(self):
        """OKS sigmas as a float64 array; the official tables themselves for the official layouts."""
        if self.official == "coco":
            return COCO_OKS_SIGMAS
        if self.official == "crowd_pose":
            return CROWDPOSE_OKS_SIGMAS
        return np.asarray(self.oks_sigmas, dtype=np.float64)

    def channel_names(self):
        """Names of the network's joint channels: the body joints, plus 'center' when with_center."""
        return self.names + (("center",) if self.with_center else ())

    def grouping_order(self, include_center=False):
        """Grouping order over the decoder's channels; with include_center the centre (last) comes first."""
        order = list(self.joint_order)
        return [self.num_body_joints] + order if include_center and self.with_center else order


def official_layout(family, with_center=False):
    """The official COCO ('coco') or CrowdPose ('crowd_pose') layout."""
    if family == "coco":
        names, flips, limbs, sigmas = COCO_KEYPOINT_NAMES, COCO_FLIP_INDEX, COCO_SKELETON, COCO_OKS_SIGMAS
    elif family == "crowd_pose":
        names, flips, limbs = CROWDPOSE_KEYPOINT_NAMES, CROWDPOSE_FLIP_INDEX, CROWDPOSE_SKELETON
        sigmas = CROWDPOSE_OKS_SIGMAS
    else:
        raise KeypointLayoutError(f"no official keypoint layout for {family!r}; expected 'coco' or 'crowd_pose'")
    return KeypointLayout(names=tuple(names), flip_index=tuple(flips), skeleton=tuple(limbs),
                          oks_sigmas=tuple(float(s) for s in sigmas),
                          joint_order=tuple(GROUPING_JOINT_ORDER[:len(names)]), with_center=with_center,
                          official=family)


def _key(name):
    return f"DATASET.KEYPOINTS.{name}"


def _index_pairs(value, name, num_joints):
    """[[a, b], ...] with 0 <= a, b < num_joints as a tuple of int pairs."""
    pairs = []
    for entry in value:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2 or any(
                type(index) is not int for index in entry):
            raise KeypointLayoutError(f"{_key(name)} entry {entry!r} is not a pair [a, b] of joint indices")
        for index in entry:
            if not 0 <= index < num_joints:
                raise KeypointLayoutError(f"{_key(name)} pair {list(entry)} has index {index} outside "
                                          f"0..{num_joints - 1} ({num_joints} joints)")
        pairs.append((entry[0], entry[1]))
    return tuple(pairs)


def flip_index_from_pairs(pairs, num_joints):
    """Flip index of J joints from [[left, right], ...] pairs; a pair [k, k] marks a joint without side.

    Joints in no pair map to themselves. A joint in two pairs raises KeypointLayoutError.
    """
    pairs = _index_pairs(pairs, "FLIP_PAIRS", num_joints)
    index = list(range(num_joints))
    seen = {}
    for pair in pairs:
        for joint in set(pair):
            if joint in seen:
                raise KeypointLayoutError(f"{_key('FLIP_PAIRS')}: joint {joint} is in two pairs "
                                          f"{list(seen[joint])} and {list(pair)}")
            seen[joint] = pair
        left, right = pair
        index[left], index[right] = right, left
    return tuple(index)


def _checked_length(value, name, num_joints):
    if len(value) != num_joints:
        raise KeypointLayoutError(f"{_key(name)} has {len(value)} entries but the layout has {num_joints} joints "
                                  "(DATASET.NUM_JOINTS, minus 1 with WITH_CENTER)")
    return value


def _category_names(category):
    names = (category or {}).get("keypoints") or ()
    return tuple(str(name) for name in names)


def _category_skeleton(category, num_joints, source):
    """categories[0].skeleton (1-based pairs in COCO files) as 0-based pairs; () if absent."""
    limbs = []
    for entry in (category or {}).get("skeleton") or ():
        if (not isinstance(entry, (list, tuple)) or len(entry) != 2
                or any(type(i) is not int or not 1 <= i <= num_joints for i in entry)):
            raise KeypointLayoutError(f"{source}: categories[0].skeleton entry {entry!r} is not a pair of "
                                      f"1-based joint numbers in 1..{num_joints}")
        limbs.append((entry[0] - 1, entry[1] - 1))
    return tuple(limbs)


def build_layout(dataset_name, num_joints, with_center, keypoints, flips_on, category=None,
                 category_source="annotation file"):
    """KeypointLayout from config values; raises KeypointLayoutError naming the key at the first problem.

    dataset_name: DATASET.DATASET; num_joints: DATASET.NUM_JOINTS (with the centre when with_center);
    keypoints: mapping with the DATASET.KEYPOINTS lists; flips_on: DATASET.FLIP > 0 or TEST.FLIP_TEST;
    category: the annotation file's categories[0] (names and skeleton defaults), or None.
    Empty KEYPOINTS and the official joint count of a COCO / CrowdPose name give the official tables.
    """
    body_joints = num_joints - (1 if with_center else 0)
    if body_joints < 1:
        raise KeypointLayoutError(f"DATASET.NUM_JOINTS is {num_joints}; a layout needs at least one joint")
    given = {name: list(keypoints.get(name) or []) for name in KEYPOINTS_KEYS}
    try:
        family = dataset_family(dataset_name)
    except ValueError:
        family = None
    official = official_layout(family, with_center) if (
        family is not None and OFFICIAL_NUM_JOINTS[family] == body_joints) else None
    if official is not None and not any(given.values()):
        _check_file_names(official.names, category, category_source, from_config=False)
        return official
    if official is None and not given["OKS_SIGMAS"]:
        expected = (f"{dataset_name} has {OFFICIAL_NUM_JOINTS[family]}, +1 with WITH_CENTER" if family
                    else "no official layout")
        raise KeypointLayoutError(
            f"DATASET.NUM_JOINTS {num_joints} (WITH_CENTER {with_center}) is not an official layout "
            f"({expected}); set DATASET.KEYPOINTS.OKS_SIGMAS ({body_joints} values) and "
            "DATASET.KEYPOINTS.FLIP_PAIRS (or turn DATASET.FLIP and TEST.FLIP_TEST off)")

    if given["NAMES"]:
        names = _checked_length(tuple(str(n) for n in given["NAMES"]), "NAMES", body_joints)
        _check_file_names(names, category, category_source, from_config=True)
    else:
        names = official.names if official else tuple(f"joint_{k}" for k in range(body_joints))
        _check_file_names(names, category, category_source, from_config=False)
        names = _category_names(category) or names

    if given["FLIP_PAIRS"]:
        flip_index = flip_index_from_pairs(given["FLIP_PAIRS"], body_joints)
    elif official is not None:
        flip_index = official.flip_index
    elif flips_on:
        raise KeypointLayoutError(
            f"{_key('FLIP_PAIRS')} is empty but flipping is on (DATASET.FLIP > 0 or TEST.FLIP_TEST): list the "
            "[left, right] pairs, [[k, k]] for a layout without sides, or turn both flips off")
    else:
        flip_index = tuple(range(body_joints))

    if given["SKELETON"]:
        skeleton_pairs = _index_pairs(given["SKELETON"], "SKELETON", body_joints)
    elif official is not None:
        skeleton_pairs = official.skeleton
    else:
        skeleton_pairs = _category_skeleton(category, body_joints, category_source)

    if given["OKS_SIGMAS"]:
        sigmas = _checked_length(given["OKS_SIGMAS"], "OKS_SIGMAS", body_joints)
        for sigma in sigmas:
            if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
                raise KeypointLayoutError(f"{_key('OKS_SIGMAS')} entry {sigma!r} is not a positive number")
        sigmas = tuple(float(s) for s in sigmas)
    else:
        sigmas = official.oks_sigmas

    if given["JOINT_ORDER"]:
        order = given["JOINT_ORDER"]
        if any(type(k) is not int for k in order) or sorted(order) != list(range(body_joints)):
            raise KeypointLayoutError(f"{_key('JOINT_ORDER')} {order} is not a permutation of 0..{body_joints - 1}")
        order = tuple(order)
    else:
        order = official.joint_order if official is not None else tuple(range(body_joints))

    layout = KeypointLayout(names=names, flip_index=flip_index, skeleton=skeleton_pairs, oks_sigmas=sigmas,
                            joint_order=order, with_center=with_center)
    if official is not None and layout == KeypointLayout(**{**official.__dict__, "official": None}):
        return official
    return layout


def _check_file_names(names, category, source, from_config):
    file_names = _category_names(category)
    if file_names and tuple(file_names) != tuple(names):
        if from_config:
            raise KeypointLayoutError(f"{_key('NAMES')} {list(names)} disagree with categories[0].keypoints "
                                      f"{list(file_names)} of {source}")
        if len(file_names) != len(names):
            raise KeypointLayoutError(f"{source}: categories[0].keypoints has {len(file_names)} joints but "
                                      f"DATASET.NUM_JOINTS gives {len(names)} (set DATASET.NUM_JOINTS / "
                                      "MODEL.NUM_JOINTS and DATASET.KEYPOINTS)")


def layout_from_config(cfg, category=None, category_source="annotation file"):
    """KeypointLayout of a merged config (see `build_layout`); category: the annotation's categories[0]."""
    data = cfg.DATASET
    flips_on = float(data.FLIP) > 0 or bool(cfg.TEST.FLIP_TEST)
    return build_layout(data.DATASET, int(data.NUM_JOINTS), bool(data.WITH_CENTER), data.KEYPOINTS, flips_on,
                        category, category_source)
