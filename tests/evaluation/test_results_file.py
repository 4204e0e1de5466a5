"""Results file (algorithm.md §7.1): the writer reproduces the official files byte for byte; image ids; records."""
import json

import numpy as np
import pytest

from higherhrnet.evaluation import (ResultsFileError, build_result_records, coco_image_id_from_file_name,
                                    crowdpose_image_id_from_file_name, read_results_json, result_image_id,
                                    results_file_path, write_results_json)

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

OFFICIAL_RESULTS = [
    "tiny/pipeline/a_flip_single_scale/keypoints_val2017_results.json",
    "tiny/pipeline/b_noflip_single_scale/keypoints_val2017_results.json",
    "tiny/pipeline/c_flip_multi_scale/keypoints_val2017_results.json",
    "grouping/perfect_in64_keypoints_val2017_results.json",
    "grouping/perfect_in256_keypoints_val2017_results.json",
]


@pytest.mark.parametrize("relative_path", OFFICIAL_RESULTS)
def test_writer_reproduces_official_file_bytes(shared, tmp_path, relative_path, persons_from_records):
    official_text = (shared / relative_path).read_text()
    official = json.loads(official_text)
    values = [v for record in official for v in record["keypoints"] + [record["score"]]]
    assert all(float(np.float32(v)) == v for v in values), "official values are float32 numbers"
    image_ids, persons, scores = persons_from_records(official)
    records = build_result_records(image_ids, persons, scores)
    path = write_results_json(tmp_path / "out" / "keypoints_val2017_results.json", records)
    assert path.read_text() == official_text  # bbox recomputed from the keypoints, same formatting
    assert read_results_json(path) == official


def test_records_are_plain_python_and_bbox_spans_all_joints():
    person = np.array([[10.5, 20.0, 0.9], [30.0, 5.25, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    (record,) = build_result_records([np.int64(42)], [[person]], [[np.float32(0.25)]])
    assert list(record) == ["bbox", "category_id", "image_id", "keypoints", "score"]
    assert record["bbox"] == [0.0, 0.0, 30.0, 20.0]  # the missing joint at (0, 0) counts, as officially
    assert type(record["image_id"]) is int and record["image_id"] == 42
    assert all(type(v) is float for v in record["keypoints"] + record["bbox"] + [record["score"]])
    assert record["keypoints"] == [10.5, 20.0, float(np.float32(0.9)), 30.0, 5.25, 0.0, 0.0, 0.0, 0.0]


def test_drop_last_joint_removes_the_centre_before_the_box():
    person = np.zeros((18, 4), dtype=np.float32)
    person[:17, :2] = 100.0
    person[:17, 2] = 0.5
    person[17] = (900.0, 900.0, 1.0, 0.0)
    (kept,) = build_result_records([1], [[person]], [[1.0]])
    (dropped,) = build_result_records([1], [[person]], [[1.0]], drop_last_joint=True)
    assert len(kept["keypoints"]) == 54 and len(dropped["keypoints"]) == 51
    assert dropped["bbox"] == [100.0, 100.0, 0.0, 0.0]
    assert kept["bbox"] == [100.0, 100.0, 800.0, 800.0]


def test_records_grouped_by_image_id_in_first_appearance_order():
    def person(x):
        return np.array([[x, x, 1.0]] * 2, dtype=np.float32)
    records = build_result_records([5, 9, 7, 5], [[person(1)], [], [person(2)], [person(3), person(4)]],
                                   [[0.1], [], [0.2], [0.3, 0.4]])
    assert [(r["image_id"], r["keypoints"][0]) for r in records] == [(5, 1.0), (5, 3.0), (5, 4.0), (7, 2.0)]


def test_bad_inputs_give_one_line_errors():
    person = np.zeros((17, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="2 image ids, 1 person lists"):
        build_result_records([1, 2], [[person]], [[1.0]])
    with pytest.raises(ValueError, match="image 1: 1 persons but 2 person scores"):
        build_result_records([1], [[person]], [[1.0, 0.5]])
    with pytest.raises(ValueError, match=r"\(J, >=3\)"):
        build_result_records([1], [[np.zeros((17, 2))]], [[1.0]])


def test_image_id_helpers():
    assert coco_image_id_from_file_name("000000000785.jpg") == 785
    assert coco_image_id_from_file_name("val2017/000000040083.jpg") == 40083
    assert crowdpose_image_id_from_file_name("103319.jpg") == 103319
    with pytest.raises(ValueError, match="not a COCO file name"):
        coco_image_id_from_file_name("frame_0001.png")
    with pytest.raises(ValueError, match="not a CrowdPose file name"):
        crowdpose_image_id_from_file_name("img_7.jpg")
    # default (B17 fix): the annotation's id, whatever the file is called
    assert result_image_id(42, "frame_0001.png", "coco") == 42
    assert result_image_id(785, "000000000785.jpg", "coco", from_file_name=True) == 785
    assert result_image_id(1, "106848.jpg", "crowd_pose", from_file_name=True) == 106848
    with pytest.raises(ValueError, match="expected 'coco' or 'crowd_pose'"):
        result_image_id(1, "1.jpg", "mpii", from_file_name=True)


def test_results_file_path():
    assert results_file_path("out/coco", "val2017") == "out/coco/results/keypoints_val2017_results.json"
    assert results_file_path("o", "test-dev2017").endswith("results/keypoints_test-dev2017_results.json")


def test_read_results_json_errors(tmp_path):
    with pytest.raises(ResultsFileError, match="results file not found"):
        read_results_json(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text('[\n    {"image_id": 1,\n')
    with pytest.raises(ResultsFileError, match=r"broken\.json: results file is not valid JSON"):
        read_results_json(broken)
    not_list = tmp_path / "dict.json"
    not_list.write_text('{"image_id": 1}')
    with pytest.raises(ResultsFileError, match="expected a list of person records, found a dict"):
        read_results_json(not_list)
    no_score = tmp_path / "no_score.json"
    no_score.write_text('[{"image_id": 1, "category_id": 1, "keypoints": []}]')
    with pytest.raises(ResultsFileError, match="record 0 lacks key"):
        read_results_json(no_score)
