"""One generated image (synthetic/scenes.py): visible keypoints lie on their person, polygons and crowd RLEs
match the drawn pixels, and the left / right colour coding of the limbs."""
import cv2
import numpy as np
from pycocotools import mask as mask_utils

from higherhrnet.synthetic.scenes import render_scene


def test_visible_keypoints_lie_on_their_person_and_polygons_match_area():
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(4):
        image, annotations = render_scene(rng)
        height, width = image.shape[:2]
        for ann in annotations:
            if ann["iscrowd"]:
                continue
            polygon_mask = mask_utils.decode(mask_utils.merge(
                mask_utils.frPyObjects(ann["segmentation"], height, width)))
            assert abs(polygon_mask.sum() - ann["area"]) < 0.2 * ann["area"] + 30
            grown = cv2.dilate(polygon_mask, np.ones((3, 3), np.uint8))
            keypoints = np.array(ann["keypoints"]).reshape(17, 3)
            for px, py, v in keypoints:
                if v == 2:
                    assert grown[int(round(py)), int(round(px))]
                    checked += 1
    assert checked > 20


def test_crowd_regions_are_uncompressed_rles_of_the_image_size():
    rng = np.random.default_rng(5)
    crowds = 0
    for _ in range(3):
        image, annotations = render_scene(rng, crowd_probability=1.0)
        for ann in annotations:
            if not ann["iscrowd"]:
                continue
            crowds += 1
            segmentation = ann["segmentation"]
            assert isinstance(segmentation["counts"], list) and segmentation["size"] == list(image.shape[:2])
            assert sum(segmentation["counts"]) == image.shape[0] * image.shape[1]
            crowd = mask_utils.decode(mask_utils.frPyObjects(segmentation, *segmentation["size"]))
            assert crowd.shape == image.shape[:2] and crowd.sum() == ann["area"] > 0
            ys, xs = np.nonzero(crowd)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
            assert ann["num_keypoints"] == 0 and not any(ann["keypoints"])
    assert crowds == 3


def _red_beats_blue(side_colours):
    """Per side, for every limb segment with both ends visible: is red > blue at the segment's middle?"""
    rng = np.random.default_rng(7)
    segments = {"left": [(5, 7), (7, 9), (11, 13), (13, 15)], "right": [(6, 8), (8, 10), (12, 14), (14, 16)]}
    votes = {"left": [], "right": []}
    for _ in range(8):
        image, annotations = render_scene(rng, max_people=1, distractors=(0, 0), occluder_probability=0,
                                          crowd_probability=0, unlabelled_probability=0, side_colours=side_colours)
        for ann in annotations:
            keypoints = np.array(ann["keypoints"]).reshape(17, 3)
            for side, pairs in segments.items():
                for a, b in pairs:
                    if keypoints[a, 2] == 2 and keypoints[b, 2] == 2:
                        x, y = (keypoints[a, :2] + keypoints[b, :2]) / 2
                        blue, _, red = image[int(round(y)), int(round(x))].astype(int)
                        votes[side].append(red > blue)
    assert len(votes["left"]) >= 12 and len(votes["right"]) >= 12
    return np.mean(votes["left"]), np.mean(votes["right"])


def test_left_limbs_are_warm_and_right_limbs_are_cool():
    left, right = _red_beats_blue(side_colours=True)
    assert left >= 0.85 and right <= 0.15


def test_without_side_colours_both_sides_look_alike():
    left, right = _red_beats_blue(side_colours=False)
    assert left >= 0.85 and right >= 0.85
