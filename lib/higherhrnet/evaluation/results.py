"""The keypoint results file (algorithm.md §7.1): one record per detected person, written as the official code does.

A record is `{"bbox": [x_min, y_min, w, h], "category_id": 1, "image_id": int,
"keypoints": [x1, y1, s1, ..., xJ, yJ, sJ], "score": float}`:
x, y are original-image pixels (x = column, y = row), s is the joint's heatmap value (not a visibility
flag), score is the person score. The box spans all J joints, missing ones included. No filtering, no
OKS-NMS, no rescoring: every person is written. The file is plain `json` with sorted keys and indent 4,
which is byte-identical to the official json_tricks output when values are Python floats holding the
float32 numbers of the pipeline (float32 -> float64 is exact, and `repr` round-trips).
"""
import json
import os

import numpy as np

from higherhrnet.evaluation.annotations import read_json_file
from higherhrnet.errors import UserError

PERSON_CATEGORY_ID = 1
RECORD_KEYS = ("image_id", "category_id", "keypoints", "score")


class ResultsFileError(UserError, ValueError):
    """A results file is missing, is not JSON, or its records are malformed."""


def results_file_path(final_output_dir, split):
    """`<final_output_dir>/results/keypoints_<split>_results.json`, e.g. split 'val2017' or 'test'."""
    return os.path.join(final_output_dir, "results", f"keypoints_{split}_results.json")


def coco_image_id_from_file_name(file_name):
    """Official COCO image id: the integer in `file_name[-16:-4]` ('000000000785.jpg' -> 785) [Q].

    Only valid for COCO's 12-digit naming; the default path uses the annotation's image id instead (B17).
    """
    digits = file_name[-16:-4]
    if not digits.isdigit():
        raise ResultsFileError(f"{file_name!r}: not a COCO file name (expected 12 digits before a 4-character "
                               "extension); use the annotation's image id")
    return int(digits)


def crowdpose_image_id_from_file_name(file_name):
    """Official CrowdPose image id: `int(file_name.split('.')[0])` ('103319.jpg' -> 103319)."""
    stem = file_name.split(".")[0]
    if not stem.isdigit():
        raise ResultsFileError(f"{file_name!r}: not a CrowdPose file name (expected '<digits>.<ext>'); "
                               "use the annotation's image id")
    return int(stem)


def result_image_id(annotation_image_id, file_name, dataset_family, from_file_name=False):
    """Image id written in the results file.

    Default (B17 fix): the annotation's image id, identical to the official one on COCO and CrowdPose.
    from_file_name=True: the official parse of the file name for `dataset_family` 'coco' or 'crowd_pose'.
    """
    if not from_file_name:
        return int(annotation_image_id)
    if dataset_family == "coco":
        return coco_image_id_from_file_name(file_name)
    if dataset_family == "crowd_pose":
        return crowdpose_image_id_from_file_name(file_name)
    raise ValueError(f"dataset family {dataset_family!r}: expected 'coco' or 'crowd_pose'")


def person_record(image_id, person, score, drop_last_joint=False):
    """One results record for one person.

    person: (J, C) array, C >= 3, columns x, y (image pixels), joint score, then optional tag columns
    (ignored). drop_last_joint: remove the centre joint first (WITH_CENTER and not IGNORE_CENTER).
    The box is [min x, min y, max x - min x, max y - min y] over the (remaining) joints, in float64.
    """
    joints = np.asarray(person, dtype=np.float64)
    if joints.ndim != 2 or joints.shape[1] < 3:
        raise ValueError(f"image {image_id}: a person must be a (J, >=3) array (x, y, score, ...), "
                         f"got shape {joints.shape}")
    keypoints = joints[:-1, :3] if drop_last_joint else joints[:, :3]
    x_min, y_min = keypoints[:, 0].min(), keypoints[:, 1].min()
    x_max, y_max = keypoints[:, 0].max(), keypoints[:, 1].max()
    return {
        "bbox": [float(x_min), float(y_min), float(x_max - x_min), float(y_max - y_min)],
        "category_id": PERSON_CATEGORY_ID,
        "image_id": int(image_id),
        "keypoints": [float(value) for value in keypoints.reshape(-1)],
        "score": float(score),
    }


def build_result_records(image_ids, persons_per_image, scores_per_image, drop_last_joint=False):
    """Results records for a whole split, in the official order.

    image_ids: N ints (the results image id of each image, see `result_image_id`).
    persons_per_image: N entries, each a (P, J, C) array or a list of P (J, C) arrays (C >= 3).
    scores_per_image: N entries, each P person scores.
    Records are grouped by image id in order of first appearance (the official code collects them in a
    dict keyed by image id), persons in their given order. Images without persons give no record.
    """
    if not len(image_ids) == len(persons_per_image) == len(scores_per_image):
        raise ValueError(f"results: {len(image_ids)} image ids, {len(persons_per_image)} person lists and "
                         f"{len(scores_per_image)} score lists; expected one of each per image")
    records_by_image = {}
    for image_id, persons, scores in zip(image_ids, persons_per_image, scores_per_image):
        if len(persons) != len(scores):
            raise ValueError(f"image {image_id}: {len(persons)} persons but {len(scores)} person scores")
        for person, score in zip(persons, scores):
            record = person_record(image_id, person, score, drop_last_joint)
            records_by_image.setdefault(int(image_id), []).append(record)
    return [record for records in records_by_image.values() for record in records]


def write_results_json(path, records):
    """Write records as the official results file (sorted keys, indent 4); creates the folder; returns path."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(records, handle, sort_keys=True, indent=4)
    return path


def read_results_json(path):
    """Read a results file back as a list of records; one-line ResultsFileError naming the file if unusable."""
    records = read_json_file(path, what="results file", error_class=ResultsFileError)
    check_result_records(records, os.fspath(path))
    return records


def check_result_records(records, source, num_joints=None):
    """Check records are dicts with image_id, category_id, keypoints (3 * num_joints values if given), score."""
    if not isinstance(records, list):
        raise ResultsFileError(f"{source}: expected a list of person records, found a {type(records).__name__}")
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise ResultsFileError(f"{source}: record {position} is a {type(record).__name__}, expected an object")
        missing = [key for key in RECORD_KEYS if key not in record]
        if missing:
            raise ResultsFileError(f"{source}: record {position} lacks key(s) {', '.join(missing)}")
        if num_joints is not None and len(record["keypoints"]) != 3 * num_joints:
            raise ResultsFileError(f"{source}: record {position} has {len(record['keypoints'])} keypoint values, "
                                   f"expected {3 * num_joints} ({num_joints} joints x (x, y, score))")
