"""Loading ground-truth annotation files for evaluation, with one-line errors for bad files.

The evaluators need a COCO-style JSON object: `images` (each with an `id`), `annotations` (one dict per
person) and `categories`. What each annotation must carry depends on the metric:

* COCO keypoint AP (pycocotools): `image_id`, `category_id`, `keypoints`, `num_keypoints`, `iscrowd`,
  `area`, `bbox` (the OKS uses `area`; persons with `num_keypoints == 0` or `iscrowd` are ignored).
* CrowdPose AP (faster-coco-eval "keypoints_crowd"): the same without `area` (the OKS area term is built
  from the box), plus a `crowdIndex` on every image (the easy / medium / hard split).
"""
import json
import os
from higherhrnet.errors import UserError

COCO_ANNOTATION_KEYS = ("image_id", "category_id", "keypoints", "num_keypoints", "iscrowd", "area", "bbox")
CROWDPOSE_ANNOTATION_KEYS = ("image_id", "category_id", "keypoints", "num_keypoints", "iscrowd", "bbox")
COCO_IMAGE_KEYS = ("id",)
CROWDPOSE_IMAGE_KEYS = ("id", "crowdIndex")
TOP_LEVEL_KEYS = ("images", "annotations", "categories")


class AnnotationError(UserError, ValueError):
    """An annotation file is missing, is not JSON, or lacks what the evaluator needs."""


def read_json_file(path, what="annotation file", error_class=None):
    """Parse a JSON file; one-line `error_class` (default AnnotationError) if missing, unreadable or not JSON."""
    error_class = error_class or AnnotationError
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise error_class(f"{path}: {what} not found")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise error_class(f"{path}: {what} is not valid JSON ({error.msg} at line {error.lineno}, "
                          f"column {error.colno})") from None
    except (UnicodeDecodeError, OSError) as error:
        raise error_class(f"{path}: cannot read {what} ({error.__class__.__name__}: {error})") from None


def check_annotation_dataset(dataset, source, image_keys=COCO_IMAGE_KEYS, annotation_keys=COCO_ANNOTATION_KEYS):
    """Check a parsed annotation object; raise AnnotationError (one line, naming `source`) if it is unusable.

    dataset: the parsed JSON object. source: a label for messages (the file path).
    image_keys / annotation_keys: keys every image / annotation entry must have.
    """
    if not isinstance(dataset, dict):
        raise AnnotationError(f"{source}: expected a JSON object with keys {', '.join(TOP_LEVEL_KEYS)}, "
                              f"found a {type(dataset).__name__}")
    missing = [key for key in TOP_LEVEL_KEYS if key not in dataset]
    if missing:
        raise AnnotationError(f"{source}: not a keypoint annotation file, missing key(s) {', '.join(missing)}")
    for key in TOP_LEVEL_KEYS:
        if not isinstance(dataset[key], list):
            raise AnnotationError(f"{source}: '{key}' must be a list, found a {type(dataset[key]).__name__}")
    for position, image in enumerate(dataset["images"]):
        _check_entry(image, image_keys, f"{source}: images[{position}]")
    for position, annotation in enumerate(dataset["annotations"]):
        _check_entry(annotation, annotation_keys, f"{source}: annotations[{position}]")
    known_images = {image["id"] for image in dataset["images"]}
    for position, annotation in enumerate(dataset["annotations"]):
        if annotation["image_id"] not in known_images:
            raise AnnotationError(f"{source}: annotations[{position}] refers to image id "
                                  f"{annotation['image_id']!r}, which is not in 'images'")


def _check_entry(entry, required_keys, where):
    if not isinstance(entry, dict):
        raise AnnotationError(f"{where} is a {type(entry).__name__}, expected an object")
    missing = [key for key in required_keys if key not in entry]
    if missing:
        raise AnnotationError(f"{where} lacks key(s) {', '.join(missing)}")


def load_annotation_file(path, image_keys=COCO_IMAGE_KEYS, annotation_keys=COCO_ANNOTATION_KEYS):
    """Read and check a COCO-style keypoint annotation file; returns the parsed dict.

    Raises AnnotationError with a one-line message naming the file when it is missing, not JSON, or lacks
    the keys the evaluator needs (see the module docstring for the COCO and CrowdPose key sets).
    """
    dataset = read_json_file(path)
    check_annotation_dataset(dataset, os.fspath(path), image_keys, annotation_keys)
    return dataset
