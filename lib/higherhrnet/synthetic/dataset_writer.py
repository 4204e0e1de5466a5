"""Writing the generated dataset to disk in the official COCO layout:

    <out>/annotations/person_keypoints_{train2017,val2017}.json
    <out>/images/{train2017,val2017}/<12-digit image id>.jpg

The same seed gives byte-identical files: every image has its own random generator seeded from
(seed, split, index), JPEGs are encoded with a fixed quality and the JSON holds no date. The number of
worker processes does not change the files.
"""
import json
import os
import re
from pathlib import Path

import cv2
import numpy as np

from ..keypoints import COCO_KEYPOINT_NAMES
from .scenes import DEFAULT_IMAGE_SIZE, DEFAULT_MAX_PEOPLE, PEOPLE_COUNT_WEIGHTS, render_scene
from ..errors import UsageError

GENERATOR_VERSION = "1.0"
# The generator's name in every annotation file's "info", and how an existing file is recognised as this
# generator's (never overwrite a real COCO copy). It is the module's name before the generator became its
# own subpackage; it stays, so that the files keep their bytes and older generated folders are recognised.
GENERATOR_NAME = "higherhrnet.data.synthetic"
SPLITS = ("train2017", "val2017")
DEFAULT_NUM_TRAIN = 4000
DEFAULT_NUM_VAL = 200
JPEG_QUALITY = 90
VAL_IMAGE_ID_OFFSET = 1_000_000          # val ids follow train ids so the two splits never share an id

# COCO's person category, with the skeleton as COCO stores it (1-based joint pairs).
COCO_PERSON_CATEGORY = {
    "supercategory": "person", "id": 1, "name": "person", "keypoints": list(COCO_KEYPOINT_NAMES),
    "skeleton": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
                 [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]],
}
LICENSE = {"id": 1, "name": "CC0 1.0 Universal (generated data, no rights reserved)",
           "url": "https://creativecommons.org/publicdomain/zero/1.0/"}


def image_id(split, index):
    """COCO image id of the index-th image (0-based) of a split; the file name is '%012d.jpg' % id."""
    return index + 1 + (VAL_IMAGE_ID_OFFSET if split == "val2017" else 0)


def _render_file(task):
    """Worker: render image `index` of a split, write its JPEG, return (image entry, annotations)."""
    out_dir, seed, split, index, image_size, max_people, side_colours = task
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    image, annotations = render_scene(rng, image_size=image_size, max_people=max_people, side_colours=side_colours)
    number = image_id(split, index)
    file_name = "%012d.jpg" % number
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {file_name}")
    Path(out_dir, "images", split, file_name).write_bytes(encoded.tobytes())
    entry = {"id": number, "file_name": file_name, "width": int(image.shape[1]), "height": int(image.shape[0]),
             "license": LICENSE["id"]}
    return entry, annotations


_FILE_NAME = re.compile(r"\d{12}\.jpg")
_SIGNATURE = b'"generator":"' + GENERATOR_NAME.encode() + b'"'


def _refuse_foreign_annotations(out_dir):
    """Raise if `out_dir` holds annotation files this generator did not write (a real COCO copy, say)."""
    for split in SPLITS:
        path = out_dir / "annotations" / f"person_keypoints_{split}.json"
        if path.exists():
            with open(path, "rb") as f:
                head = f.read(300)
            if _SIGNATURE not in head:
                raise FileExistsError(f"{path} exists and was not written by the synthetic generator; "
                                      "choose another --out so it is not overwritten")


def generate_dataset(out_dir, seed=0, num_train=DEFAULT_NUM_TRAIN, num_val=DEFAULT_NUM_VAL,
                     image_size=DEFAULT_IMAGE_SIZE, max_people=DEFAULT_MAX_PEOPLE, side_colours=True, workers=1,
                     progress=False):
    """Write the dataset under `out_dir` in the COCO layout; return {split: annotation file path}.

    image_size: (min, max) side length in pixels; max_people: 1..5; side_colours: see scenes.py (False for
    training with flip augmentation or testing with flips). Annotation ids are image id * 100 + 1, 2, ...

    workers > 1 renders images in a process pool; the files are identical for any number of workers.
    progress: show a tqdm bar per split.
    """
    if not 1 <= max_people <= len(PEOPLE_COUNT_WEIGHTS):
        raise UsageError(f"max_people must be in 1..{len(PEOPLE_COUNT_WEIGHTS)}, got {max_people}")
    if not 16 <= image_size[0] <= image_size[1]:
        raise UsageError(f"image_size must be (min, max) with 16 <= min <= max, got {image_size}")
    if num_train >= VAL_IMAGE_ID_OFFSET:
        raise UsageError(f"at most {VAL_IMAGE_ID_OFFSET - 1} training images")
    out_dir = Path(out_dir)
    _refuse_foreign_annotations(out_dir)
    (out_dir / "annotations").mkdir(parents=True, exist_ok=True)
    pool = None
    if workers > 1:
        import multiprocessing
        pool = multiprocessing.get_context("spawn").Pool(workers, initializer=cv2.setNumThreads, initargs=(1,))
    opencv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)                 # small images: OpenCV's thread pool costs more than it gains
    paths = {}
    try:
        for split, count in zip(SPLITS, (num_train, num_val)):
            (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
            tasks = [(str(out_dir), seed, split, index, tuple(image_size), max_people, side_colours)
                     for index in range(count)]
            results = pool.imap(_render_file, tasks, chunksize=8) if pool else map(_render_file, tasks)
            if progress:
                from tqdm import tqdm
                results = tqdm(results, total=count, desc=split, unit="img")
            images, annotations = [], []
            for entry, image_annotations in results:
                images.append(entry)
                for n, annotation in enumerate(image_annotations):
                    annotations.append({"id": entry["id"] * 100 + n + 1, "image_id": entry["id"], **annotation})
            written = {entry["file_name"] for entry in images}
            for stale in (out_dir / "images" / split).glob("*.jpg"):     # left over from a bigger earlier run
                if _FILE_NAME.fullmatch(stale.name) and stale.name not in written:
                    stale.unlink()
            dataset = {
                "info": {"description": "HigherHRNet synthetic multi-person keypoints (generated mannequins)",
                         "generator": GENERATOR_NAME, "version": GENERATOR_VERSION, "seed": seed,
                         "split": split, "image_size": list(image_size), "max_people": max_people,
                         "side_colours": side_colours},
                "licenses": [LICENSE],
                "images": images,
                "annotations": annotations,
                "categories": [COCO_PERSON_CATEGORY],
            }
            path = out_dir / "annotations" / f"person_keypoints_{split}.json"
            temporary = path.with_suffix(".json.tmp")
            with open(temporary, "w") as f:
                json.dump(dataset, f, separators=(",", ":"))
            os.replace(temporary, path)
            paths[split] = path
    finally:
        cv2.setNumThreads(opencv_threads)
        if pool is not None:
            pool.close()
            pool.join()
    return paths
