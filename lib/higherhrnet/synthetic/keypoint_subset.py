"""A generated dataset cut down to another keypoint layout: a worked example of training on your own joints.

`write_keypoint_subset` rewrites the annotation files of a generated folder in place, keeping only some of
the 17 COCO joints of every person (in a given order) and writing the layout's own names and skeleton into
`categories[0]` (1-based joint numbers, as COCO stores them). `TEN_JOINTS` is the layout of
experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml: shoulders, elbows, wrists, hips and ankles.
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import numpy as np

from .dataset_writer import SPLITS


@dataclass(frozen=True)
class KeypointSubset:
    """kept_joints: COCO joint indices, in the new order; names: one per kept joint; skeleton: 0-based limbs."""
    kept_joints: Tuple[int, ...]
    names: Tuple[str, ...]
    skeleton: Tuple[Tuple[int, int], ...]


TEN_JOINTS = KeypointSubset(
    kept_joints=(5, 6, 7, 8, 9, 10, 11, 12, 15, 16),
    names=("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_ankle",
           "r_ankle"),
    skeleton=((0, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7), (6, 8), (7, 9)),
)
SUBSETS = {"ten_joints": TEN_JOINTS}


def write_keypoint_subset(out_dir, subset):
    """Rewrite out_dir/annotations/person_keypoints_<split>.json for `subset` (recounting num_keypoints)."""
    for split in SPLITS:
        path = Path(out_dir) / "annotations" / f"person_keypoints_{split}.json"
        dataset = json.loads(path.read_text())
        for annotation in dataset["annotations"]:
            joints = np.asarray(annotation["keypoints"]).reshape(-1, 3)[list(subset.kept_joints)]
            annotation["keypoints"] = joints.reshape(-1).tolist()
            annotation["num_keypoints"] = int(np.count_nonzero(joints[:, 2]))
        category = dataset["categories"][0]
        category["keypoints"] = list(subset.names)
        category["skeleton"] = [[a + 1, b + 1] for a, b in subset.skeleton]
        with open(path, "w") as handle:
            json.dump(dataset, handle, separators=(",", ":"))
