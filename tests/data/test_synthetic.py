"""The synthetic COCO-format dataset: determinism, COCO validity, keypoint/visibility facts, crowd RLEs,
left/right colour coding and face points that follow the facing direction."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from higherhrnet.data import synthetic, synthetic_figure
from higherhrnet.keypoints import COCO_KEYPOINT_NAMES

NUM_TRAIN, NUM_VAL = 6, 4


def _generate(out_dir, seed=0, workers=1):
    return synthetic.generate_dataset(out_dir, seed=seed, num_train=NUM_TRAIN, num_val=NUM_VAL, workers=workers)


def _files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    _generate(root)
    return root


def _load(root, split):
    return json.loads((root / "annotations" / f"person_keypoints_{split}.json").read_text())


def test_same_seed_gives_identical_files_and_another_seed_differs(dataset, tmp_path):
    _generate(tmp_path / "again")
    _generate(tmp_path / "other", seed=1)
    reference, again, other = _files(dataset), _files(tmp_path / "again"), _files(tmp_path / "other")
    assert len(reference) == 2 + NUM_TRAIN + NUM_VAL
    assert again == reference
    assert other.keys() == reference.keys()
    assert all(other[name] != reference[name] for name in reference)


def test_command_line_tool_with_workers_writes_the_same_files(dataset, tmp_path, repo):
    out = tmp_path / "cli"
    subprocess.run([sys.executable, str(repo / "tools" / "make_synthetic.py"), "--out", str(out), "--seed", "0",
                    "--train", str(NUM_TRAIN), "--val", str(NUM_VAL), "--workers", "2"],
                   check=True, capture_output=True)
    assert _files(out) == _files(dataset)


@pytest.mark.parametrize("split", synthetic.SPLITS)
def test_coco_layout_loads_with_pycocotools(dataset, split):
    coco = COCO(str(dataset / "annotations" / f"person_keypoints_{split}.json"))
    assert coco.getCatIds() == [1]
    category = coco.loadCats(1)[0]
    assert category["name"] == "person" and category["keypoints"] == list(COCO_KEYPOINT_NAMES)
    assert all(1 <= a <= 17 and 1 <= b <= 17 for a, b in category["skeleton"])
    assert len(coco.getImgIds()) == (NUM_TRAIN if split == "train2017" else NUM_VAL)
    for image in coco.loadImgs(coco.getImgIds()):
        assert int(image["file_name"][-16:-4]) == image["id"]          # the official file-name id parse
        pixels = cv2.imread(str(dataset / "images" / split / image["file_name"]))
        assert pixels.shape == (image["height"], image["width"], 3)
    people = coco.loadAnns(coco.getAnnIds(iscrowd=False))
    assert sum(a["num_keypoints"] > 0 for a in people) >= len(coco.getImgIds())
    assert len(set(coco.getAnnIds())) == len(coco.getAnnIds())


def test_image_ids_differ_between_splits(dataset):
    train = {image["id"] for image in _load(dataset, "train2017")["images"]}
    val = {image["id"] for image in _load(dataset, "val2017")["images"]}
    assert not train & val


def test_keypoints_visibility_bbox_and_count_agree(dataset):
    for split in synthetic.SPLITS:
        data = _load(dataset, split)
        sizes = {image["id"]: (image["width"], image["height"]) for image in data["images"]}
        flags = set()
        for ann in data["annotations"]:
            width, height = sizes[ann["image_id"]]
            keypoints = np.array(ann["keypoints"], dtype=float).reshape(17, 3)
            labelled = keypoints[:, 2] > 0
            assert ann["num_keypoints"] == int(labelled.sum())
            assert np.all(keypoints[~labelled] == 0)                     # COCO: unlabelled joints are (0, 0, 0)
            x, y, w, h = ann["bbox"]
            assert w > 0 and h > 0 and ann["area"] > 0
            for px, py, _ in keypoints[labelled]:
                assert x - 0.01 <= px <= x + w + 0.01 and y - 0.01 <= py <= y + h + 0.01
                assert 0 <= px <= width - 1 and 0 <= py <= height - 1
            flags |= set(keypoints[:, 2].astype(int).tolist())
        assert flags == {0, 1, 2}


def test_visible_keypoints_lie_on_their_person_and_polygons_match_area():
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(4):
        image, annotations = synthetic.render_scene(rng)
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
        image, annotations = synthetic.render_scene(rng, crowd_probability=1.0)
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
        image, annotations = synthetic.render_scene(rng, max_people=1, distractors=(0, 0), occluder_probability=0,
                                                    crowd_probability=0, unlabelled_probability=0,
                                                    side_colours=side_colours)
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


def test_face_points_follow_the_facing_direction():
    rng = np.random.default_rng(0)
    front = synthetic_figure.build_figure(rng, 200, pose=synthetic_figure.Pose(yaw=0))
    back = synthetic_figure.build_figure(rng, 200, pose=synthetic_figure.Pose(yaw=180))
    profile = synthetic_figure.build_figure(rng, 200, pose=synthetic_figure.Pose(yaw=90))
    assert front.labelled[:5].all()
    assert front.keypoints[1, 0] > front.keypoints[2, 0] and front.keypoints[5, 0] > front.keypoints[6, 0]
    assert list(back.labelled[:5]) == [False, False, False, True, True]       # only the ears from behind
    assert back.keypoints[5, 0] < back.keypoints[6, 0]                        # left shoulder now on the left
    assert list(profile.labelled[:5]) == [True, False, True, False, True]     # the right side faces the camera
    assert profile.keypoints[0, 0] > profile.keypoints[4, 0]                   # nose points where it faces


def test_refuses_to_overwrite_annotations_it_did_not_write(tmp_path):
    (tmp_path / "annotations").mkdir()
    foreign = tmp_path / "annotations" / "person_keypoints_val2017.json"
    foreign.write_text('{"info": {"description": "COCO 2017 Dataset"}, "images": []}')
    with pytest.raises(FileExistsError):
        synthetic.generate_dataset(tmp_path, num_train=1, num_val=1)
    assert foreign.read_text().startswith('{"info": {"description": "COCO 2017')
