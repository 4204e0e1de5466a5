"""One generated image and its COCO annotations: `render_scene`.

Each image holds 1..`max_people` articulated mannequins with the 17 COCO joints (figures.py, drawn by
figure_drawing.py) on a textured background with distractor shapes (backdrops.py); people overlap, leave the
frame, and are sometimes joined by a crowd region (`iscrowd` 1, uncompressed RLE) or a tiny unlabelled person
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
"""
import cv2
import numpy as np

from ..keypoints import COCO_KEYPOINT_NAMES
from . import backdrops
from .figure_drawing import draw_figure
from .figures import KEYPOINT_PARTS, PARTS_PER_FIGURE, build_figure
from .mask_encoding import corners_to_xywh, mask_box, polygons, uncompressed_rle

DEFAULT_IMAGE_SIZE = (256, 384)          # image sides are drawn uniformly from this range (pixels)
DEFAULT_MAX_PEOPLE = 5

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
    members = [build_figure(rng, size, side_colours=side_colours) for size in sizes]
    for x, y in spots:
        pick = int(rng.integers(len(members)))
        member = members[pick].shifted(x, y - 0.1 * sizes[pick])
        draw_figure(image, owner, member, CROWD, sizes[pick])


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
        own = code == 0 or (code - base) in KEYPOINT_PARTS[k]
        keypoints += [x, y, 2 if own else 1]
    labelled = [(keypoints[3 * k], keypoints[3 * k + 1]) for k in range(len(figure.keypoints))
                if keypoints[3 * k + 2] > 0]
    x0, y0, x1, y1 = mask_box(visible)
    for x, y in labelled:
        x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
    return {
        "category_id": 1,
        "keypoints": keypoints,
        "num_keypoints": len(labelled),
        "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
        "area": float(visible.sum()),
        "iscrowd": 0,
        "segmentation": polygons(visible),
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
    image = backdrops.draw_background(rng, height, width)
    owner = np.zeros((height, width), np.int32)
    short_side = min(width, height)
    for _ in range(int(rng.integers(distractors[0], distractors[1] + 1))):
        backdrops.draw_shape(rng, image, owner, DISTRACTOR, rng.uniform(0.06, 0.35) * short_side)
    has_crowd = rng.random() < crowd_probability
    if has_crowd:
        _crowd(rng, image, owner, side_colours)

    people = []                          # (figure, height_px, labelled?)
    boxes = []
    count = int(rng.choice(np.arange(1, len(PEOPLE_COUNT_WEIGHTS) + 1), p=PEOPLE_COUNT_WEIGHTS))
    for _ in range(min(count, max_people)):
        height_px = _person_height(rng, height)
        figure = _place(rng, build_figure(rng, height_px, side_colours=side_colours), width, height,
                        boxes, rng.random() < outside_probability)
        if figure is not None:
            people.append((figure, height_px, True))
            boxes.append(figure.box)
    if rng.random() < unlabelled_probability:
        for _ in range(int(rng.integers(1, 3))):
            height_px = rng.uniform(12, 24)
            figure = _place(rng, build_figure(rng, height_px, side_colours=side_colours), width,
                            height, boxes, False)
            if figure is not None:
                people.append((figure, height_px, False))
                boxes.append(figure.box)
    # Far (small) people first, with some shuffling so that size does not always decide who is in front.
    depth_keys = [height_px * rng.uniform(0.8, 1.25) for _, height_px, _ in people]
    people = [people[i] for i in np.argsort(depth_keys, kind="stable")]
    for n, (figure, height_px, _) in enumerate(people):
        draw_figure(image, owner, figure, FIRST_PERSON + PARTS_PER_FIGURE * n, height_px)
    if rng.random() < occluder_probability:
        for _ in range(int(rng.integers(1, 3))):
            backdrops.draw_shape(rng, image, owner, DISTRACTOR, rng.uniform(0.05, 0.15) * short_side)
    backdrops.finish_photo(rng, image)

    annotations = []
    person_pixels = owner >= FIRST_PERSON
    for n, (figure, _, labelled) in enumerate(people):
        base = FIRST_PERSON + PARTS_PER_FIGURE * n
        visible = (owner >= base) & (owner < base + PARTS_PER_FIGURE)
        if not visible.any():
            continue
        annotation = _person_annotation(figure, visible, owner, base)
        if not labelled or annotation["area"] < MIN_LABELLED_AREA:
            annotation.update(keypoints=[0] * 3 * len(figure.keypoints), num_keypoints=0,
                              bbox=[round(v, 2) for v in corners_to_xywh(mask_box(visible))])
        annotations.append(annotation)
    if has_crowd:
        crowd = (owner >= CROWD) & (owner < FIRST_PERSON)
        crowd = cv2.dilate(crowd.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
        crowd &= ~person_pixels
        if crowd.any():
            annotations.append({
                "category_id": 1, "keypoints": [0] * 3 * len(COCO_KEYPOINT_NAMES), "num_keypoints": 0,
                "bbox": corners_to_xywh(mask_box(crowd)), "area": float(crowd.sum()), "iscrowd": 1,
                "segmentation": uncompressed_rle(crowd),
            })
    return image, annotations
