"""The generated dataset on disk (synthetic/dataset_writer.py): determinism whatever the workers, COCO validity,
image ids, keypoint / visibility / box agreement, and no overwriting of foreign annotation files."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from higherhrnet import synthetic
from higherhrnet.synthetic.dataset_writer import GENERATOR_NAME
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


@pytest.mark.slow
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


def test_refuses_to_overwrite_annotations_it_did_not_write(tmp_path):
    (tmp_path / "annotations").mkdir()
    foreign = tmp_path / "annotations" / "person_keypoints_val2017.json"
    foreign.write_text('{"info": {"description": "COCO 2017 Dataset"}, "images": []}')
    with pytest.raises(FileExistsError):
        synthetic.generate_dataset(tmp_path, num_train=1, num_val=1)
    assert foreign.read_text().startswith('{"info": {"description": "COCO 2017')


def test_rerun_over_its_own_output_rewrites_it_and_removes_stale_images(tmp_path):
    _generate(tmp_path / "rerun")
    info = _load(tmp_path / "rerun", "val2017")["info"]
    assert info["generator"] == GENERATOR_NAME and info["seed"] == 0
    synthetic.generate_dataset(tmp_path / "rerun", num_train=2, num_val=1)
    synthetic.generate_dataset(tmp_path / "fresh", num_train=2, num_val=1)
    assert _files(tmp_path / "rerun") == _files(tmp_path / "fresh")
    assert len(_files(tmp_path / "fresh")) == 2 + 2 + 1
