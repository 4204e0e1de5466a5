"""What the demo draws: persons above --min-score (results files keep everyone), --draw-all, labelled map
strips, photos the right way up, and the --weights hint (tiny model, COCO sample)."""
import json
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from higherhrnet.demo import main
from higherhrnet.keypoints import official_layout
from higherhrnet.visualize import heatmap_row, label_columns

IMAGE = "000000000785.jpg"  # 640 x 425; persons scoring 0.46, 0.12, 0.03, 0.02 with the tiny model


@pytest.fixture(scope="module")
def tiny(shared):
    return {"cfg": str(shared / "tiny" / "tiny_coco.yaml"), "weights": str(shared / "tiny" / "tiny_coco.pth"),
            "image": shared / "data" / "coco_sample" / "images" / "val2017" / IMAGE}


def run_demo(tiny, source, output, *extra):
    status = main(["--cfg", tiny["cfg"], "--weights", tiny["weights"], "--no-progress", "--input", str(source),
                   "--output", str(output), *extra])
    assert status == 0
    stem = source.stem
    return cv2.imread(str(output / f"{stem}_pose.jpg")), json.loads((output / f"{stem}_results.json").read_text())


@pytest.mark.slow
def test_min_score_limits_the_drawing_not_the_results(tiny, tmp_path):
    default, records = run_demo(tiny, tiny["image"], tmp_path / "default")
    everyone, all_records = run_demo(tiny, tiny["image"], tmp_path / "all", "--draw-all")
    zero, _ = run_demo(tiny, tiny["image"], tmp_path / "zero", "--min-score", "0", "--joint-threshold", "0")
    strict, _ = run_demo(tiny, tiny["image"], tmp_path / "strict", "--min-score", "0.99")
    assert records == all_records and min(r["score"] for r in records) < 0.1  # results keep every person
    np.testing.assert_array_equal(everyone, zero)
    assert not np.array_equal(default, everyone)
    # no person scores 0.99: the overlay is the picture itself (JPEG-encoded the same way)
    original = cv2.imread(str(tiny["image"]))
    encoded = cv2.imdecode(cv2.imencode(".jpg", original)[1], cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(strict, encoded)


@pytest.mark.slow
def test_phone_photo_overlay_is_upright(tiny, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn right to view
    photo = tmp_path / "phone.jpg"
    Image.open(tiny["image"]).transpose(Image.Transpose.ROTATE_90).save(photo, quality=95, exif=exif.tobytes())
    overlay, records = run_demo(tiny, photo, tmp_path / "out")
    assert overlay.shape[:2] == (425, 640) and records
    xs = np.array([r["keypoints"][0::3] for r in records])
    assert xs.max() > 425  # x runs along the 640-pixel width of the upright picture


def test_map_strips_carry_joint_names(tiny, tmp_path):
    row = heatmap_row(np.zeros((64, 64, 3), np.uint8), np.zeros((17, 64, 64), np.float32))
    labelled = label_columns(row.copy(), ("image",) + official_layout("coco").channel_names())
    changed = np.flatnonzero((labelled != row).any(axis=(0, 2)))
    assert len(np.unique(changed // 64)) == 18  # text in every column
    assert official_layout("coco", with_center=True).channel_names()[-1] == "center"
    assert official_layout("crowd_pose").channel_names()[-1] == "neck"


def test_missing_weights_names_the_flag(tiny, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(tiny["image"], folder / IMAGE)
    status = main(["--cfg", tiny["cfg"], "--input", str(folder), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.strip() == ("error: no weights: pass --weights <file>.pth or set TEST.MODEL_FILE "
                                           "in the config")
    assert not (tmp_path / "out").exists()
