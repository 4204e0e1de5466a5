"""A generated multi-person keypoint dataset in the COCO layout: `make demo` trains and evaluates on it.

    <out>/annotations/person_keypoints_{train2017,val2017}.json
    <out>/images/{train2017,val2017}/<12-digit image id>.jpg

Each image holds 1..`max_people` articulated mannequins with the 17 COCO joints (synthetic_figure.py) on a
textured background with distractor shapes (synthetic_backdrop.py); people overlap, leave the frame, and are
sometimes joined by a crowd region (`iscrowd` 1, uncompressed RLE) or a tiny unlabelled person
(`num_keypoints` 0, polygon), so the training ignore mask and the evaluator's ignore rules are exercised.

Designed to be learnable by a small HRNet on a CPU in about an hour: one fixed hue per limb segment (warm
on the figure's left, cool on its right, whatever way it faces), ball joints, a big head with marked face
points, most people 45 % to 90 % of the image height tall, bounded overlap between people.

Keypoints follow COCO: (x, y, v) per joint, v = 2 visible, v = 1 labelled but hidden (behind another person,
a distractor or another part of the same figure), v = 0 unlabelled with x = y = 0 (outside the image, or a
face point turned away from the camera). Keypoint (x, y) are OpenCV drawing coordinates (pixel centres at
integers); bbox, area and segmentation are in COCO's pixel-corner convention ([x, y, w, h] covers the mask).

Flips: the side colours are not mirror-symmetric. A horizontally flipped image shows warm limbs that the
flipped labels call right, so with flip augmentation (DATASET.FLIP > 0) or flip testing (TEST.FLIP_TEST) the
colours say nothing about the side and only the figure's geometry (face, facing) does. Train and test the
default dataset without flips, or generate with side_colours=False (same colours on both sides), which
keeps the labels mirror-consistent.

The same seed gives byte-identical files: every image has its own random generator seeded from
(seed, split, index), JPEGs are encoded with a fixed quality and the JSON holds no date.
"""
import json
import os
import re
from pathlib import Path

import cv2
import numpy as np

from ..keypoints import COCO_KEYPOINT_NAMES
from . import synthetic_backdrop as backdrop
from . import synthetic_figure as figure_model

GENERATOR_VERSION = "1.0"
SPLITS = ("train2017", "val2017")
DEFAULT_NUM_TRAIN = 4000
DEFAULT_NUM_VAL = 200
DEFAULT_IMAGE_SIZE = (256, 384)          # image sides are drawn uniformly from this range (pixels)
DEFAULT_MAX_PEOPLE = 5
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

# Owner-map codes: which object covers each pixel (0 = background).
DISTRACTOR = 1
CROWD = 16                              # CROWD + part id for the figures of a crowd
FIRST_PERSON = 32                       # FIRST_PERSON + PARTS_PER_FIGURE * n + part id for person n

# Person size as a fraction of the image height: mostly medium and large, some small.
SIZE_BANDS = ((0.7, (0.45, 0.9)), (0.2, (0.28, 0.45)), (0.1, (0.17, 0.28)))
PEOPLE_COUNT_WEIGHTS = (0.2, 0.26, 0.24, 0.18, 0.12)          # for 1, 2, 3, 4, 5 people
MAX_BOX_IOU = 0.25                     # two people's drawing boxes overlap at most this much ...
MAX_BOX_COVER = 0.5                    # ... and neither box is covered more than this by the other
MIN_LABELLED_AREA = 16 * 16             # people with fewer visible pixels get num_keypoints 0, as in COCO


def _person_height(rng, image_height):
    weights = [w for w, _ in SIZE_BANDS]
    low, high = SIZE_BANDS[rng.choice(len(SIZE_BANDS), p=weights)][1]
    return rng.uniform(low, high) * image_height


def _box_overlap(a, b):
    """(IoU, intersection / smaller area) of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0, 0.0
    inter = w * h
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter), inter / min(area_a, area_b)


def _place(rng, figure, width, height, placed, allow_outside):
    """`figure` moved to a random spot that keeps overlaps with `placed` boxes bounded; None if none found."""
    x0, y0, x1, y1 = figure.box
    box_w, box_h = x1 - x0, y1 - y0
    slack_x = 0.35 * box_w if allow_outside else 0.0
    slack_y = 0.35 * box_h if allow_outside else 0.0
    for _ in range(25):
        low_x, high_x = -x0 - slack_x, width - x1 + slack_x
        low_y, high_y = -y0 - slack_y, height - y1 + slack_y
        dx = rng.uniform(low_x, high_x) if high_x > low_x else (low_x + high_x) / 2
        dy = rng.uniform(low_y, high_y) if high_y > low_y else (low_y + high_y) / 2
        box = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        overlaps = [_box_overlap(box, other) for other in placed]
        if all(iou <= MAX_BOX_IOU and cover <= MAX_BOX_COVER for iou, cover in overlaps):
            return figure.shifted(dx, dy)
    return None


def _crowd(rng, image, owner, side_colours):
    """Draw a dense band of small overlapping figures behind everything else (annotated as one crowd region)."""
    height, width = image.shape[:2]
    figure_height = rng.uniform(18, 40)
    count = int(rng.integers(6, 15))
    band_width = count * figure_height * rng.uniform(0.2, 0.35)      # neighbours overlap
    left = rng.uniform(-0.1 * width, width - 0.9 * band_width)
    baseline = rng.uniform(0.25, 0.85) * height
    spots = [(rng.uniform(left, left + band_width), baseline + rng.normal(0, 0.2 * figure_height))
             for _ in range(count)]
    spots.sort(key=lambda spot: spot[1])                              # lower in the image = nearer
    # A few distinct members, each repeated at several spots: a crowd costs little more than one person.
    sizes = figure_height * rng.uniform(0.85, 1.15, size=min(count, 4))
    members = [figure_model.build_figure(rng, size, side_colours=side_colours) for size in sizes]
    for x, y in spots:
        pick = int(rng.integers(len(members)))
        member = members[pick].shifted(x, y - 0.1 * sizes[pick])
        figure_model.draw_figure(image, owner, member, CROWD, sizes[pick])


def _uncompressed_rle(mask):
    """COCO uncompressed RLE of a (H, W) bool mask: run lengths in column-major order, zeros first."""
    flat = mask.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"counts": [int(c) for c in counts], "size": [int(mask.shape[0]), int(mask.shape[1])]}


def _polygons(mask):
    """Outer contours of a (H, W) bool mask as COCO polygons [[x1, y1, x2, y2, ...], ...] (pixel centres
    at +0.5), simplified to within 0.7 pixel; fragments of fewer than three points are dropped."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        contour = cv2.approxPolyDP(contour, 0.7, True).reshape(-1, 2)
        if len(contour) >= 3:
            polygons.append((contour.reshape(-1) + 0.5).tolist())
    return polygons


def _mask_box(mask):
    """[x0, y0, x1, y1] covering the mask's pixels in pixel-corner coordinates."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    return [float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1)]


def _person_annotation(figure, visible, owner, base):
    """COCO annotation dict (without ids) of a drawn figure whose visible pixels are `visible` (H, W) bool."""
    height, width = owner.shape
    keypoints = []
    for k, (x, y) in enumerate(figure.keypoints):
        x, y = round(float(x), 2), round(float(y), 2)
        if not figure.labelled[k] or not (0 <= x <= width - 1 and 0 <= y <= height - 1):
            keypoints += [0, 0, 0]
            continue
        code = int(owner[int(round(y)), int(round(x))])
        own = code == 0 or (code - base) in figure_model.KEYPOINT_PARTS[k]
        keypoints += [x, y, 2 if own else 1]
    labelled = [(keypoints[3 * k], keypoints[3 * k + 1]) for k in range(len(figure.keypoints))
                if keypoints[3 * k + 2] > 0]
    x0, y0, x1, y1 = _mask_box(visible)
    for x, y in labelled:
        x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
    return {
        "category_id": 1,
        "keypoints": keypoints,
        "num_keypoints": len(labelled),
        "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
        "area": float(visible.sum()),
        "iscrowd": 0,
        "segmentation": _polygons(visible),
    }


def render_scene(rng, image_size=DEFAULT_IMAGE_SIZE, max_people=DEFAULT_MAX_PEOPLE, crowd_probability=0.15,
                 unlabelled_probability=0.1, distractors=(2, 9), occluder_probability=0.35,
                 outside_probability=0.2, side_colours=True):
    """Render one image and its COCO annotations.

    rng: numpy Generator (the only source of randomness). image_size: (min, max) side length in pixels, both
    sides drawn independently. side_colours: left and right limbs in different colours (see the module doc on
    flips). Returns (image (H, W, 3) uint8 BGR, list of annotation dicts without "id" and
    "image_id"): people first (back to front), then the crowd region if any.
    """
    low, high = image_size
    width, height = (int(v) for v in rng.integers(low, high + 1, size=2))
    image = backdrop.draw_background(rng, height, width)
    owner = np.zeros((height, width), np.int32)
    short_side = min(width, height)
    for _ in range(int(rng.integers(distractors[0], distractors[1] + 1))):
        backdrop.draw_shape(rng, image, owner, DISTRACTOR, rng.uniform(0.06, 0.35) * short_side)
    has_crowd = rng.random() < crowd_probability
    if has_crowd:
        _crowd(rng, image, owner, side_colours)

    people = []                          # (figure, height_px, labelled?)
    boxes = []
    count = int(rng.choice(np.arange(1, len(PEOPLE_COUNT_WEIGHTS) + 1), p=PEOPLE_COUNT_WEIGHTS))
    for _ in range(min(count, max_people)):
        height_px = _person_height(rng, height)
        figure = _place(rng, figure_model.build_figure(rng, height_px, side_colours=side_colours), width, height,
                        boxes, rng.random() < outside_probability)
        if figure is not None:
            people.append((figure, height_px, True))
            boxes.append(figure.box)
    if rng.random() < unlabelled_probability:
        for _ in range(int(rng.integers(1, 3))):
            height_px = rng.uniform(12, 24)
            figure = _place(rng, figure_model.build_figure(rng, height_px, side_colours=side_colours), width,
                            height, boxes, False)
            if figure is not None:
                people.append((figure, height_px, False))
                boxes.append(figure.box)
    # Far (small) people first, with some shuffling so that size does not always decide who is in front.
    depth_keys = [height_px * rng.uniform(0.8, 1.25) for _, height_px, _ in people]
    people = [people[i] for i in np.argsort(depth_keys, kind="stable")]
    for n, (figure, height_px, _) in enumerate(people):
        figure_model.draw_figure(image, owner, figure, FIRST_PERSON + figure_model.PARTS_PER_FIGURE * n, height_px)
    if rng.random() < occluder_probability:
        for _ in range(int(rng.integers(1, 3))):
            backdrop.draw_shape(rng, image, owner, DISTRACTOR, rng.uniform(0.05, 0.15) * short_side)
    backdrop.finish_photo(rng, image)

    annotations = []
    person_pixels = owner >= FIRST_PERSON
    for n, (figure, _, labelled) in enumerate(people):
        base = FIRST_PERSON + figure_model.PARTS_PER_FIGURE * n
        visible = (owner >= base) & (owner < base + figure_model.PARTS_PER_FIGURE)
        if not visible.any():
            continue
        annotation = _person_annotation(figure, visible, owner, base)
        if not labelled or annotation["area"] < MIN_LABELLED_AREA:
            annotation.update(keypoints=[0] * 3 * len(figure.keypoints), num_keypoints=0,
                              bbox=[round(v, 2) for v in _xywh(_mask_box(visible))])
        annotations.append(annotation)
    if has_crowd:
        crowd = (owner >= CROWD) & (owner < FIRST_PERSON)
        crowd = cv2.dilate(crowd.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
        crowd &= ~person_pixels
        if crowd.any():
            annotations.append({
                "category_id": 1, "keypoints": [0] * 3 * len(COCO_KEYPOINT_NAMES), "num_keypoints": 0,
                "bbox": _xywh(_mask_box(crowd)), "area": float(crowd.sum()), "iscrowd": 1,
                "segmentation": _uncompressed_rle(crowd),
            })
    return image, annotations


def _xywh(box):
    return [box[0], box[1], box[2] - box[0], box[3] - box[1]]


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
_SIGNATURE = b'"generator":"higherhrnet.data.synthetic"'


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

    side_colours: see the module doc (False for training with flip augmentation or testing with flips).

    workers > 1 renders images in a process pool; the files are identical for any number of workers.
    progress: show a tqdm bar per split.
    """
    if not 1 <= max_people <= len(PEOPLE_COUNT_WEIGHTS):
        raise ValueError(f"max_people must be in 1..{len(PEOPLE_COUNT_WEIGHTS)}, got {max_people}")
    if not 16 <= image_size[0] <= image_size[1]:
        raise ValueError(f"image_size must be (min, max) with 16 <= min <= max, got {image_size}")
    if num_train >= VAL_IMAGE_ID_OFFSET:
        raise ValueError(f"at most {VAL_IMAGE_ID_OFFSET - 1} training images")
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
                         "generator": "higherhrnet.data.synthetic", "version": GENERATOR_VERSION, "seed": seed,
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
