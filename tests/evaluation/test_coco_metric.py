"""COCO keypoint AP (algorithm.md §7.2) on the official results files; the evaluate driver; empty and test splits."""
import copy
import json

import numpy as np
import pytest

from higherhrnet.evaluation import (COCO_METRIC_NAMES, ResultsFileError, coco_keypoint_metrics,
                                    evaluate_predictions)

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

COCO_ANNOTATIONS = "data/coco_sample/annotations/person_keypoints_val2017.json"
SETTINGS = ["a_flip_single_scale", "b_noflip_single_scale", "c_flip_multi_scale"]


@pytest.mark.parametrize("setting", SETTINGS)
def test_official_results_reproduce_official_ap_tables(shared, setting):
    folder = shared / "tiny" / "pipeline" / setting
    expected = json.loads((folder / "ap.json").read_text())
    name_values, ap = coco_keypoint_metrics(shared / COCO_ANNOTATIONS, folder / "keypoints_val2017_results.json",
                                            verbose=False)
    assert [name for name, _ in name_values] == list(COCO_METRIC_NAMES) == list(expected)
    assert [value for _, value in name_values] == list(expected.values())  # exact, same library
    assert ap == expected["AP"]


def test_perfect_grouping_tables(shared):
    perfect_256, ap_256 = coco_keypoint_metrics(
        shared / COCO_ANNOTATIONS, shared / "grouping/perfect_in256_keypoints_val2017_results.json", verbose=False)
    assert ap_256 == 1.0 and all(value == 1.0 for _, value in perfect_256)
    expected_64 = json.loads((shared / "grouping/perfect_in64.json").read_text())["ap"]
    perfect_64, ap_64 = coco_keypoint_metrics(
        shared / COCO_ANNOTATIONS, shared / "grouping/perfect_in64_keypoints_val2017_results.json", verbose=False)
    assert dict(perfect_64) == pytest.approx(expected_64, abs=1e-12)
    assert ap_64 == pytest.approx(0.8702670267026703, abs=1e-12)


def test_records_list_and_annotation_dict_inputs_are_not_modified(shared):
    records = json.loads((shared / "tiny/pipeline/b_noflip_single_scale/keypoints_val2017_results.json").read_text())
    annotations = json.loads((shared / COCO_ANNOTATIONS).read_text())
    records_before, annotations_before = copy.deepcopy(records), copy.deepcopy(annotations)
    name_values, ap = coco_keypoint_metrics(annotations, records, verbose=False)
    assert ap == pytest.approx(0.2851, abs=1e-4)
    assert records == records_before and annotations == annotations_before


def test_verbose_controls_library_output(shared, capsys):
    results = shared / "grouping/perfect_in256_keypoints_val2017_results.json"
    coco_keypoint_metrics(shared / COCO_ANNOTATIONS, results, verbose=False)
    assert capsys.readouterr().out == ""
    coco_keypoint_metrics(shared / COCO_ANNOTATIONS, results, verbose=True)
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ] = 1.000" in capsys.readouterr().out


def test_empty_predictions_give_zero_table_and_warning(shared):
    with pytest.warns(RuntimeWarning, match="no person predicted"):
        name_values, ap = coco_keypoint_metrics(shared / COCO_ANNOTATIONS, [], verbose=False)
    assert name_values == [(name, 0.0) for name in COCO_METRIC_NAMES] and ap == 0.0


def test_evaluate_predictions_writes_official_file_and_scores_it(shared, tmp_path, persons_from_records):
    folder = shared / "tiny/pipeline/a_flip_single_scale"
    official_text = (folder / "keypoints_val2017_results.json").read_text()
    image_ids, persons, scores = persons_from_records(json.loads(official_text), num_tag_columns=0)
    name_values, ap = evaluate_predictions("coco", shared / COCO_ANNOTATIONS, "val2017", tmp_path, image_ids,
                                           persons, scores, verbose=False)
    assert (tmp_path / "results/keypoints_val2017_results.json").read_text() == official_text
    assert dict(name_values) == json.loads((folder / "ap.json").read_text())
    assert ap == pytest.approx(0.23375495516027323, abs=1e-15)


def test_test_split_is_not_evaluated(tmp_path):
    person = np.ones((17, 3), dtype=np.float32)
    name_values, ap = evaluate_predictions("coco", tmp_path / "image_info_test-dev2017.json", "test-dev2017",
                                           tmp_path, [1], [[person]], [[0.5]], verbose=False)
    assert name_values == [("Null", 0)] and ap == 0
    written = json.loads((tmp_path / "results/keypoints_test-dev2017_results.json").read_text())
    assert written[0]["image_id"] == 1 and written[0]["score"] == 0.5


def test_results_with_unknown_image_ids_or_joint_count_are_rejected(shared):
    record = {"image_id": 123, "category_id": 1, "keypoints": [1.0] * 51, "score": 1.0, "bbox": [0, 0, 0, 0]}
    with pytest.raises(ResultsFileError, match=r"image ids \[123\] are not in .*person_keypoints_val2017"):
        coco_keypoint_metrics(shared / COCO_ANNOTATIONS, [record], verbose=False)
    record = dict(record, image_id=785, keypoints=[1.0] * 42)
    with pytest.raises(ResultsFileError, match="42 keypoint values, expected 51"):
        coco_keypoint_metrics(shared / COCO_ANNOTATIONS, [record], verbose=False)
