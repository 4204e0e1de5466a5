"""Pictures (algorithm.md §9.4): skeleton drawing, result_valid pictures, heatmap / tag-map debug grids."""
import cv2
import numpy as np
import pytest

from higherhrnet.keypoints import COCO_SKELETON
from higherhrnet.visualize import (batch_maps_grid, draw_skeletons, heatmap_row, random_person_colors,
                                   save_batch_maps, save_valid_picture, tagmap_row, valid_picture_path,
                                   write_picture)


def one_person():
    """17 COCO joints; shoulders (5, 6) visible at (20, 30) and (60, 30); everything else score 0."""
    person = np.zeros((17, 5), dtype=np.float32)
    person[:, :2] = (80.0, 80.0)
    person[5] = (20.7, 30.2, 0.6, 0.0, 0.0)
    person[6] = (60.0, 30.0, 0.4, 0.0, 0.0)
    person[7] = (20.0, 70.0, 0.0, 0.0, 0.0)  # elbow with score 0: neither it nor the shoulder-elbow limb
    return person


def test_official_style_uses_global_rng_and_draws_only_scored_joints():
    image = np.zeros((100, 100, 3), dtype=np.uint8)
    np.random.seed(3)
    expected_color = tuple(int(v) for v in np.random.randint(0, 255, size=3))
    np.random.seed(3)
    draw_skeletons(image, [one_person()], COCO_SKELETON)
    assert tuple(image[30, 20]) == expected_color  # joint (int(20.7), int(30.2))
    assert tuple(image[30, 40]) == expected_color  # on the shoulder line
    assert not image[40:, :].any()  # no elbow, no shoulder-elbow limb, nothing at the (80, 80) misses
    changed_rows = np.nonzero(image.any(axis=(1, 2)))[0]
    assert changed_rows.min() >= 28 and changed_rows.max() <= 32  # radius 1 + thickness 2, line thickness 2


def test_explicit_colors_rng_and_demo_style():
    colors = random_person_colors(2, rng=np.random.default_rng(0))
    assert colors == random_person_colors(2, rng=np.random.default_rng(0)) and len(colors) == 2
    official = draw_skeletons(np.zeros((100, 100, 3), np.uint8), [one_person()], COCO_SKELETON, colors=[(0, 0, 255)])
    assert tuple(official[30, 40]) == (0, 0, 255)
    demo = draw_skeletons(np.zeros((100, 100, 3), np.uint8), [one_person()], COCO_SKELETON,
                          colors=[(0, 0, 255)], demo_style=True)
    assert np.count_nonzero(demo.any(axis=2)) > np.count_nonzero(official.any(axis=2))
    thresholded = draw_skeletons(np.zeros((100, 100, 3), np.uint8), [one_person()], COCO_SKELETON,
                                 colors=[(0, 0, 255)], score_threshold=0.5)
    assert thresholded[30, 20].any() and not thresholded[30, 40:].any()  # score 0.4 shoulder and limb gone
    with pytest.raises(ValueError, match="1 colours for 2 persons"):
        draw_skeletons(np.zeros((10, 10, 3), np.uint8), [one_person()] * 2, COCO_SKELETON, colors=[(1, 2, 3)])
    with pytest.raises(ValueError, match="uint8"):
        draw_skeletons(np.zeros((10, 10), np.float32), [], COCO_SKELETON)


def test_save_valid_picture_writes_readable_jpeg(tmp_path):
    image_rgb = np.full((100, 120, 3), (200, 100, 50), dtype=np.uint8)
    path = valid_picture_path(tmp_path, 3)
    assert path.endswith("result_valid_3.jpg")
    save_valid_picture(path, image_rgb, np.stack([one_person()]), num_joints=17, rng=np.random.default_rng(1))
    written = cv2.imread(path)
    assert written.shape == (100, 120, 3)
    assert np.abs(written[5, 110].astype(int) - (50, 100, 200)).max() <= 3  # untouched, RGB -> BGR
    (color,) = random_person_colors(1, rng=np.random.default_rng(1))
    assert np.abs(written[30, 40].astype(int) - color).max() <= 40  # limb pixel (JPEG tolerance)
    assert image_rgb[30, 40].tolist() == [200, 100, 50]  # input not modified


def test_heatmap_and_tagmap_rows():
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    heatmaps = np.zeros((2, 4, 4), dtype=np.float32)
    heatmaps[0] = 2.0  # clamped to 255 -> JET (0, 0, 128), blended 0.7 * 128 = 89.6 -> 89
    heatmaps[1, 1, 2] = 0.5
    row = heatmap_row(image, heatmaps)
    assert row.shape == (4, 12, 3) and not row[:, :4].any()
    assert row[0, 4].tolist() == [0, 0, 89]
    jet_zero = cv2.applyColorMap(np.zeros((1, 1), np.uint8), cv2.COLORMAP_JET)[0, 0]
    assert row[0, 8].tolist() == [int(v * 0.7) for v in jet_zero]
    tags = np.zeros((1, 4, 4), dtype=np.float32)
    tags[0, 0, 0] = -3.0
    tags[0, 3, 3] = 5.0
    tag_row = tagmap_row(np.full((4, 4, 3), 100, np.uint8), tags)
    jet_low = cv2.applyColorMap(np.zeros((1, 1), np.uint8), cv2.COLORMAP_JET)[0, 0]
    assert tag_row[0, 4].tolist() == [int(v * 0.9 + 100 * 0.1) for v in jet_low]  # minimum -> 0
    assert tag_row[0, :4].tolist() == [[100, 100, 100]] * 4


def test_batch_grid_normalises_over_batch_and_masks_column_zero(tmp_path):
    images = np.zeros((2, 3, 8, 8), dtype=np.float32)
    images[0] = -2.0
    images[1] = 2.0
    maps = np.zeros((2, 3, 4, 4), dtype=np.float32)
    masks = np.ones((2, 4, 4), dtype=np.float32)
    masks[1, :2] = 0.0
    grid = batch_maps_grid(images, maps, masks, map_type="heatmap")
    assert grid.shape == (8, 16, 3)
    assert grid[0:4, :4].max() == 0  # batch minimum
    assert grid[6, 0].tolist() == [254, 254, 254]  # batch maximum: 4 / (4 + 1e-5) * 255 truncated
    assert not grid[4:6, :4].any() and grid[6:8, :4].all()  # mask zero rows blanked in column 0 only
    path = tmp_path / "batch_hm_pred.jpg"
    saved = save_batch_maps(path, images, maps, None, map_type="tagmap")
    assert cv2.imread(str(path)).shape == saved.shape == (8, 16, 3)
    with pytest.raises(ValueError, match="map_type"):
        batch_maps_grid(images, maps, map_type="paf")
    with pytest.raises(OSError, match="cannot write picture"):
        write_picture(tmp_path / "missing_folder" / "x.jpg", saved)
