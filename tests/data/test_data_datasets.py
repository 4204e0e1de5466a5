"""Datasets in the official layouts: test images in json order, training filters, errors, zip, WITH_CENTER."""
import json
import shutil
import zipfile

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from data_loop_reference import loop_mask
from higherhrnet.data import (AnnotationFileError, ImageReadError, KeypointTestDataset, annotation_path,
                              ignore_mask, image_path, joints_array, load_coco_api, read_image_rgb,
                              training_persons)

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

COCO_IDS = [785, 40083, 196141, 197388]
CROWDPOSE_IDS = [106848, 103319]


def test_layout_paths():
    assert annotation_path("coco", "R", "train2017") == "R/annotations/person_keypoints_train2017.json"
    assert annotation_path("coco", "R", "test-dev2017") == "R/annotations/image_info_test-dev2017.json"
    assert annotation_path("crowd_pose", "R", "test") == "R/json/crowdpose_test.json"
    assert image_path("coco", "R", "val2017", "a.jpg") == "R/images/val2017/a.jpg"
    assert image_path("coco", "R", "test-dev2017", "a.jpg") == "R/images/test2017/a.jpg"
    assert image_path("coco", "R", "val2017", "a.jpg", "zip") == "R/images/val2017.zip@a.jpg"
    assert image_path("crowd_pose", "R", "test", "a.jpg") == "R/images/a.jpg"
    assert image_path("crowd_pose", "R", "test", "a.jpg", "zip") == "R/images.zip@a.jpg"
    with pytest.raises(ValueError, match="DATA_FORMAT 'png'"):
        image_path("coco", "R", "val2017", "a.jpg", "png")


def test_coco_test_dataset_yields_images_in_json_order(shared):
    root = shared / "data" / "coco_sample"
    dataset = KeypointTestDataset("coco", root, "val2017")
    assert len(dataset) == 4 and dataset.ids == COCO_IDS
    for index, image_id in enumerate(COCO_IDS):
        image, returned_id, file_name = dataset[index]
        assert returned_id == image_id and file_name == f"{image_id:012d}.jpg"
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        np.testing.assert_array_equal(image, read_image_rgb(root / "images" / "val2017" / file_name))


def test_crowdpose_test_dataset_on_the_test_split(shared):
    root = shared / "data" / "crowdpose_sample"
    dataset = KeypointTestDataset("crowd_pose", root, "test")
    assert dataset.ids == CROWDPOSE_IDS
    for index, image_id in enumerate(CROWDPOSE_IDS):
        image, returned_id, file_name = dataset[index]
        assert (returned_id, file_name) == (image_id, f"{image_id}.jpg")
        np.testing.assert_array_equal(image, read_image_rgb(root / "images" / file_name))


def _copy_coco_sample(shared, tmp_path, annotation_edit=None):
    root = tmp_path / "coco"
    shutil.copytree(shared / "data" / "coco_sample", root)
    if annotation_edit is not None:
        path = root / "annotations" / "person_keypoints_val2017.json"
        path.chmod(0o644)
        data = json.loads(path.read_text())
        annotation_edit(data)
        path.write_text(json.dumps(data))
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def _one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_image_gives_one_line_error_naming_the_file(shared, tmp_path):
    root = _copy_coco_sample(shared, tmp_path)
    missing = root / "images" / "val2017" / "000000040083.jpg"
    missing.unlink()
    dataset = KeypointTestDataset("coco", root, "val2017")
    with pytest.raises(ImageReadError) as error:
        dataset[1]
    assert str(missing) in _one_line(error) and "not found" in _one_line(error)


def test_corrupt_jpeg_gives_one_line_error_naming_the_file(shared, tmp_path):
    root = _copy_coco_sample(shared, tmp_path)
    corrupt = root / "images" / "val2017" / "000000000785.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG stream" * 4)
    with pytest.raises(ImageReadError) as error:
        KeypointTestDataset("coco", root, "val2017")[0]
    assert str(corrupt) in _one_line(error) and "not a readable image" in _one_line(error)


def test_missing_annotation_file_gives_one_line_error(tmp_path):
    with pytest.raises(AnnotationFileError) as error:
        KeypointTestDataset("crowd_pose", tmp_path, "test")
    assert str(tmp_path / "json" / "crowdpose_test.json") in _one_line(error)
    assert "not found" in _one_line(error)


@pytest.mark.parametrize("content,reason", [(b"{\"images\": [1, 2,", "not valid JSON"),
                                            (b"\x89PNG\r\n\x1a\n\x00\x00", "not valid JSON"),
                                            (b"[1, 2, 3]", "not a COCO-style annotation file")])
def test_bad_annotation_file_gives_one_line_error(tmp_path, content, reason):
    path = tmp_path / "annotations" / "person_keypoints_val2017.json"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(AnnotationFileError) as error:
        load_coco_api(path)
    assert _one_line(error).startswith(str(path)) and reason in _one_line(error)


def test_zip_data_format_reads_the_same_images(shared, tmp_path):
    root = _copy_coco_sample(shared, tmp_path)
    images = root / "images" / "val2017"
    with zipfile.ZipFile(root / "images" / "val2017.zip", "w") as archive:
        for path in sorted(images.iterdir()):
            archive.write(path, f"val2017/{path.name}")  # an archive of the folder itself
    plain = KeypointTestDataset("coco", root, "val2017")
    zipped = KeypointTestDataset("coco", root, "val2017", data_format="zip")
    assert zipped.image_path(0).endswith("val2017.zip@000000000785.jpg")
    for index in range(4):
        np.testing.assert_array_equal(zipped[index][0], plain[index][0])
    with zipfile.ZipFile(root / "images" / "val2017.zip", "w") as archive:
        archive.writestr("other.jpg", b"")
    fresh = KeypointTestDataset("coco", root, "val2017", data_format="zip")
    with pytest.raises(ImageReadError, match="image not found in the archive"):
        fresh[2]


def test_training_filter_and_joints_follow_the_official_rules(shared):
    coco = load_coco_api(shared / "data" / "coco_sample" / "annotations" / "person_keypoints_val2017.json")
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=40083))
    crowd = dict(annotations[0], iscrowd=1, num_keypoints=0, id=-1)
    kept = training_persons(annotations + [crowd])
    assert [a["id"] for a in kept] == [198196, 230195, 1202706]  # zero-keypoint person kept, crowd dropped
    joints = joints_array(kept, 17)
    assert joints.shape == (3, 17, 3) and joints.dtype == np.float64
    assert not joints[2].any()
    np.testing.assert_array_equal(joints[0].ravel(), annotations[0]["keypoints"])
    with pytest.raises(ValueError, match="17 keypoints per person, the config expects 14"):
        joints_array(kept, 14)


def test_with_center_appends_the_mean_of_labelled_joints():
    keypoints = [0] * 51
    keypoints[0:3] = [10, 20, 2]
    keypoints[9:12] = [30, 50, 1]
    persons = [{"keypoints": keypoints}, {"keypoints": [0] * 51}]
    joints = joints_array(persons, 18, with_center=True)
    assert joints.shape == (2, 18, 3)
    np.testing.assert_array_equal(joints[0, 17], [20.0, 35.0, 1.0])
    np.testing.assert_array_equal(joints[1, 17], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(joints[0, :17].ravel(), keypoints)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ignore_mask_is_the_official_sum_test_with_overlaps():
    height, width = 40, 60
    square = [[5, 5, 30, 5, 30, 30, 5, 30]]
    overlapping = [[20, 10, 50, 10, 50, 35, 20, 35], [0, 0, 8, 0, 8, 8]]
    crowd_rle = mask_utils.frPyObjects([[40, 2, 58, 2, 58, 20, 40, 20]], height, width)[0]
    crowd_uncompressed = {"counts": _uncompressed_counts(_decode(crowd_rle)), "size": [height, width]}
    annotations = [
        {"iscrowd": 0, "num_keypoints": 0, "segmentation": square},
        {"iscrowd": 0, "num_keypoints": 0, "segmentation": overlapping},
        {"iscrowd": 0, "num_keypoints": 5, "segmentation": [[0, 30, 10, 30, 10, 40]]},  # a person: not masked
        {"iscrowd": 1, "num_keypoints": 0, "segmentation": crowd_uncompressed},
    ]
    mask = ignore_mask(annotations, height, width)
    np.testing.assert_array_equal(mask, loop_mask(annotations, height, width))
    assert mask.dtype == bool and 0 < np.count_nonzero(~mask) < height * width
    assert mask[35, 3]  # inside the keypoint person's polygon, still supervised
    assert ignore_mask(annotations[2:3], height, width).all()


def _decode(rle):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle)


def _uncompressed_counts(binary):
    """COCO uncompressed RLE counts (column-major runs, starting with zeros)."""
    flat = binary.ravel(order="F")
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return counts
