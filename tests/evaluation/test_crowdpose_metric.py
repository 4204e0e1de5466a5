"""CrowdPose AP (algorithm.md §7.3) with faster-coco-eval: sanity on the CrowdPose sample and each CrowdPose rule."""
import copy
import json

import numpy as np
import pytest

from higherhrnet.evaluation import CROWDPOSE_METRIC_NAMES, AnnotationError, crowdpose_keypoint_metrics
from higherhrnet.keypoints import CROWDPOSE_OKS_SIGMAS

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

CROWDPOSE_ANNOTATIONS = "data/crowdpose_sample/json/crowdpose_test.json"


@pytest.fixture()
def ground_truth(shared):
    return json.loads((shared / CROWDPOSE_ANNOTATIONS).read_text())


def gt_as_predictions(ground_truth, shift=None):
    """One record per GT person with keypoints: GT positions (+ shift[image_id] px in x), score 0.9 - 0.1 k."""
    shift = shift or {}
    records = []
    for k, annotation in enumerate(a for a in ground_truth["annotations"] if a["num_keypoints"] > 0):
        joints = np.asarray(annotation["keypoints"], dtype=np.float64).reshape(14, 3)
        joints[:, 0] += shift.get(annotation["image_id"], 0.0)
        joints[:, 2] = (joints[:, 2] > 0) * 0.8
        records.append({"image_id": annotation["image_id"], "category_id": 1, "score": 0.9 - 0.1 * k,
                        "keypoints": [float(v) for v in joints.reshape(-1)]})
    return records


def test_ground_truth_as_predictions_scores_one(ground_truth):
    name_values, ap = crowdpose_keypoint_metrics(ground_truth, gt_as_predictions(ground_truth), verbose=False)
    assert [name for name, _ in name_values] == list(CROWDPOSE_METRIC_NAMES)
    table = dict(name_values)
    assert ap == 1.0
    assert [table[name] for name in ("AP", "Ap .5", "AP .75", "AR", "AR .5", "AR .75")] == [1.0] * 6
    # both sample images have crowdIndex in [0.2, 0.8): medium only; empty subsets report -1 (crowdposetools)
    assert (table["AP (easy)"], table["AP (medium)"], table["AP (hard)"]) == (-1.0, 1.0, -1.0)


def test_perturbed_predictions_score_below_one(shared):
    ground_truth = json.loads((shared / CROWDPOSE_ANNOTATIONS).read_text())
    records = gt_as_predictions(ground_truth, shift={106848: 30.0, 103319: 12.0})
    name_values, ap = crowdpose_keypoint_metrics(shared / CROWDPOSE_ANNOTATIONS, records, verbose=False)
    table = dict(name_values)
    assert 0.0 < ap < 1.0 and table["AP .75"] < table["Ap .5"] <= 1.0 and table["AR"] < 1.0


@pytest.mark.parametrize("hard_image, other_image", [(103319, 106848), (106848, 103319)])
def test_hard_image_only_affects_ap_hard(ground_truth, hard_image, other_image):
    for image in ground_truth["images"]:
        if image["id"] == hard_image:
            image["crowdIndex"] = 0.9
    perturbed = crowdpose_keypoint_metrics(ground_truth, gt_as_predictions(ground_truth, {hard_image: 15.0}),
                                           verbose=False)[0]
    assert dict(perturbed)["AP (medium)"] == 1.0 and dict(perturbed)["AP (easy)"] == -1.0
    assert 0.0 < dict(perturbed)["AP (hard)"] < 1.0
    other = crowdpose_keypoint_metrics(ground_truth, gt_as_predictions(ground_truth, {other_image: 15.0}),
                                       verbose=False)[0]
    assert dict(other)["AP (hard)"] == 1.0 and 0.0 < dict(other)["AP (medium)"] < 1.0
    for image in ground_truth["images"]:
        image["crowdIndex"] = 0.1
    easy = crowdpose_keypoint_metrics(ground_truth, gt_as_predictions(ground_truth), verbose=False)[0]
    assert [dict(easy)[name] for name in ("AP (easy)", "AP (medium)", "AP (hard)")] == [1.0, -1.0, -1.0]


def test_oks_area_term_is_053_of_the_gt_box(ground_truth):
    """One GT person, one prediction shifted by d px so that OKS(area = 0.53 w h) = 0.575:
    it passes the OKS thresholds 0.50 and 0.55 only, so AP = 2/10. With area = w h it would pass more."""
    annotation = next(a for a in ground_truth["annotations"] if a["image_id"] == 103319)
    ground_truth["annotations"] = [annotation]
    visible = np.asarray(annotation["keypoints"]).reshape(14, 3)[:, 2] > 0
    variances = (2 * CROWDPOSE_OKS_SIGMAS[visible]) ** 2
    area = annotation["bbox"][2] * annotation["bbox"][3] * 0.53

    def oks(d, box_area):
        return np.mean(np.exp(-d ** 2 / variances / box_area / 2))

    low, high = 0.0, 200.0
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if oks(middle, area) > 0.575 else (low, middle)
    assert oks(low, area / 0.53) > 0.65  # the unscaled box would give a different AP
    records = gt_as_predictions(ground_truth, shift={103319: low})
    table = dict(crowdpose_keypoint_metrics(ground_truth, records, verbose=False)[0])
    assert table["AP"] == pytest.approx(0.2, abs=1e-9) and table["AR"] == pytest.approx(0.2, abs=1e-9)
    assert table["Ap .5"] == 1.0 and table["AP .75"] == 0.0


def test_crowd_and_zero_keypoint_persons_are_ignored(ground_truth):
    assert sum(a["num_keypoints"] == 0 for a in ground_truth["annotations"]) == 1
    dropped = ground_truth["annotations"][0]
    assert dropped["num_keypoints"] > 0
    dropped["iscrowd"] = 1
    records = gt_as_predictions(ground_truth)[1:]  # no prediction for the (now crowd) first person
    assert len(records) == 3 and records[0]["keypoints"] != gt_as_predictions(ground_truth)[0]["keypoints"]
    table = dict(crowdpose_keypoint_metrics(ground_truth, records, verbose=False)[0])
    assert table["AP"] == 1.0 and table["AR"] == 1.0  # nobody is missed: the crowd person is ignored


@pytest.mark.parametrize("num_junk, expected_ar", [(18, 1.0), (20, 0.5)])
def test_only_the_top_20_detections_per_image_count(ground_truth, num_junk, expected_ar):
    junk = [{"image_id": 106848, "category_id": 1, "score": 2.0 + k, "keypoints": [600.0, 400.0, 0.5] * 14}
            for k in range(num_junk)]
    table = dict(crowdpose_keypoint_metrics(ground_truth, junk + gt_as_predictions(ground_truth),
                                            verbose=False)[0])
    # 106848 holds 2 of the 4 evaluable persons; 20 higher-scored junk detections push both out
    assert table["AR"] == pytest.approx(expected_ar, abs=1e-12)


def test_empty_predictions_and_quiet_mode(shared, capsys):
    with pytest.warns(RuntimeWarning, match="no person predicted"):
        name_values, ap = crowdpose_keypoint_metrics(shared / CROWDPOSE_ANNOTATIONS, [], verbose=False)
    assert name_values == [(name, 0.0) for name in CROWDPOSE_METRIC_NAMES] and ap == 0.0
    ground_truth = json.loads((shared / CROWDPOSE_ANNOTATIONS).read_text())
    crowdpose_keypoint_metrics(ground_truth, gt_as_predictions(ground_truth), verbose=False)
    assert capsys.readouterr().out == ""
    crowdpose_keypoint_metrics(ground_truth, gt_as_predictions(ground_truth), verbose=True)
    assert "type=  hard" in capsys.readouterr().out


def test_images_without_crowd_index_are_rejected(tmp_path, ground_truth):
    broken = copy.deepcopy(ground_truth)
    del broken["images"][1]["crowdIndex"]
    path = tmp_path / "crowdpose_test.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(AnnotationError, match=r"crowdpose_test\.json: images\[1\] lacks key\(s\) crowdIndex"):
        crowdpose_keypoint_metrics(path, gt_as_predictions(ground_truth), verbose=False)
