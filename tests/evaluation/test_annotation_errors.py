"""Bad annotation files give one-line errors naming the file (AnnotationError, a ValueError)."""
import json

import pytest

from higherhrnet.evaluation import AnnotationError, coco_keypoint_metrics, load_annotation_file

RECORD = {"image_id": 785, "category_id": 1, "keypoints": [1.0] * 51, "score": 1.0, "bbox": [0, 0, 0, 0]}


def _error_message(path, **kwargs):
    with pytest.raises(AnnotationError) as caught:
        load_annotation_file(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "annotation file not found" in _error_message(tmp_path / "person_keypoints_val2017.json")
    assert issubclass(AnnotationError, ValueError)


def test_not_json(tmp_path):
    path = tmp_path / "garbage.json"
    path.write_text("{'images': [}")
    assert "is not valid JSON" in _error_message(path)
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert "is not valid JSON (Expecting value at line 1, column 1)" in _error_message(empty)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x81\x93")
    assert "cannot read annotation file" in _error_message(binary)


def test_wrong_structure(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    assert "expected a JSON object with keys images, annotations, categories, found a list" in _error_message(path)
    path.write_text(json.dumps({"images": [], "categories": []}))
    assert "missing key(s) annotations" in _error_message(path)
    path.write_text(json.dumps({"images": {}, "annotations": [], "categories": []}))
    assert "'images' must be a list" in _error_message(path)


def test_incomplete_entries(shared, tmp_path):
    dataset = json.loads((shared / "data/coco_sample/annotations/person_keypoints_val2017.json").read_text())
    del dataset["annotations"][3]["area"]
    path = tmp_path / "no_area.json"
    path.write_text(json.dumps(dataset))
    assert "annotations[3] lacks key(s) area" in _error_message(path)
    # the evaluator reports the same error before pycocotools runs
    with pytest.raises(AnnotationError, match=r"no_area\.json: annotations\[3\] lacks key\(s\) area"):
        coco_keypoint_metrics(path, [RECORD], verbose=False)
    dataset["annotations"][3]["area"] = 1.0
    dataset["annotations"][3]["image_id"] = 999
    path.write_text(json.dumps(dataset))
    assert "annotations[3] refers to image id 999, which is not in 'images'" in _error_message(path)


def test_evaluator_on_missing_annotation_file(tmp_path):
    with pytest.raises(AnnotationError, match="annotation file not found"):
        coco_keypoint_metrics(tmp_path / "nothing.json", [RECORD], verbose=False)
