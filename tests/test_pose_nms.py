"""OKS pose NMS and the minimum person score (higherhrnet.pose_nms), and their use in tools/valid.py's path."""
import json

import numpy as np
import pytest

from higherhrnet.config import get_cfg, load_config
from higherhrnet.keypoints import COCO_OKS_SIGMAS
from higherhrnet.pose_nms import PersonFilter, keypoint_box_areas, oks_nms, oks_sigmas, oks_to_others, score_filter
from higherhrnet.predictor import Predictor


def standing_person(x0, y0, height=200.0):
    """A plausible 17-joint COCO pose (x, y, score) with its top-left near (x0, y0)."""
    unit = height / 8
    xy = np.array([[2, 0.5], [2.3, 0.3], [1.7, 0.3], [2.6, 0.5], [1.4, 0.5], [3, 1.5], [1, 1.5], [3.4, 2.8],
                   [0.6, 2.8], [3.6, 4], [0.4, 4], [2.6, 4.3], [1.4, 4.3], [2.7, 6.1], [1.3, 6.1], [2.8, 8],
                   [1.2, 8]]) * unit + [x0, y0]
    return np.concatenate([xy, np.full((17, 1), 0.5)], axis=1).astype(np.float32)


def test_oks_of_a_uniform_shift_matches_the_formula():
    person = standing_person(100, 50)
    shifted = person.copy()
    shifted[:, 0] += 3.0
    keypoints = np.stack([person, shifted])
    areas = keypoint_box_areas(keypoints)
    assert areas[0] == pytest.approx(areas[1]) and areas[0] == pytest.approx((3.2 * 25) * (7.7 * 25))
    oks = oks_to_others(keypoints, areas, 0, np.array([0, 1]), COCO_OKS_SIGMAS)
    expected = np.mean(np.exp(-9.0 / (2 * (2 * COCO_OKS_SIGMAS) ** 2 * (areas[0] + np.spacing(1)))))
    assert oks[0] == pytest.approx(1.0)
    assert oks[1] == pytest.approx(expected, rel=1e-12) and 0.5 < oks[1] < 1.0


def test_pose_nms_removes_a_duplicate_and_keeps_distinct_people():
    first = standing_person(100, 50)
    duplicate = first + np.array([1.5, -1.0, 0.0], dtype=np.float32)  # same person, one pixel off
    other = standing_person(400, 60, height=180)                     # someone else
    beside = standing_person(160, 50)                                 # an overlapping but different pose
    persons = [first, duplicate, other, beside]
    assert list(oks_nms(persons, [0.6, 0.5, 0.4, 0.3], 0.9)) == [0, 2, 3]
    # the higher-scoring copy survives, whichever comes first
    assert list(oks_nms(persons, [0.5, 0.6, 0.4, 0.3], 0.9)) == [1, 2, 3]
    # a low enough threshold also merges the overlapping neighbour; distant people always stay
    keypoints = np.asarray(persons)
    areas = keypoint_box_areas(keypoints)
    neighbour_oks = oks_to_others(keypoints, areas, 0, np.array([3]), COCO_OKS_SIGMAS)[0]
    assert list(oks_nms(persons, [0.6, 0.5, 0.4, 0.3], neighbour_oks - 1e-6)) == [0, 2]
    assert list(oks_nms(persons, [0.6, 0.5, 0.4, 0.3], neighbour_oks + 1e-6)) == [0, 2, 3]


def test_pose_nms_edge_cases_and_errors():
    assert oks_nms([], []).shape == (0,)
    assert list(oks_nms([standing_person(0, 0)], [0.1])) == [0]
    with pytest.raises(ValueError, match="no OKS sigmas known for 5 joints"):
        oks_nms(np.zeros((2, 5, 3)), [1, 2])
    with pytest.raises(ValueError, match="P scores"):
        oks_nms(np.zeros((2, 17, 3)), [1])
    assert oks_sigmas(18) is COCO_OKS_SIGMAS and len(oks_sigmas(15)) == 14


def test_min_score_filter_and_person_filter():
    persons = [standing_person(10 * i, 0) for i in range(4)]
    persons = [np.concatenate([p, np.full((17, 2), i, np.float32)], axis=1) for i, p in enumerate(persons)]
    scores = [0.05, 0.3, 0.2999, 0.7]
    assert list(score_filter(scores, 0.3)) == [1, 3]
    kept, kept_scores = PersonFilter(min_score=0.3)(persons, scores)
    assert kept_scores == [0.3, 0.7] and kept[0] is persons[1] and kept[1].shape == (17, 5)
    # disabled (the default): everything, unchanged
    kept, kept_scores = PersonFilter()(persons, scores)
    assert kept_scores == scores and all(a is b for a, b in zip(kept, persons))
    # the score filter runs first: a duplicate below the minimum cannot suppress anyone
    twin = [persons[3], persons[3] + np.float32(0.5)]
    assert PersonFilter(pose_nms=True, min_score=0.5)(twin, [0.4, 0.6])[1] == [0.6]
    with pytest.raises(ValueError, match="2 persons but 1 scores"):
        PersonFilter(min_score=0.1)(twin, [0.4])


def test_person_filter_reads_the_config():
    assert not PersonFilter.from_config(get_cfg()).enabled
    cfg = get_cfg()
    cfg.merge_from_list(["TEST.POSE_NMS", True, "TEST.POSE_NMS_OKS", 0.5, "TEST.MIN_PERSON_SCORE", 0.2])
    assert PersonFilter.from_config(cfg) == PersonFilter(pose_nms=True, oks_threshold=0.5, min_score=0.2)


def per_image(records):
    """[(records, persons (17, 3) arrays, scores)] per image id, in order of first appearance."""
    groups = []
    for image_id in dict.fromkeys(record["image_id"] for record in records):
        mine = [record for record in records if record["image_id"] == image_id]
        groups.append((mine, [np.reshape(r["keypoints"], (17, 3)) for r in mine], [r["score"] for r in mine]))
    return groups


@pytest.mark.slow
def test_valid_path_applies_the_filters(shared, tmp_path):
    from higherhrnet.engine.evaluation import run_validation

    reference = json.loads((shared / "tiny" / "pipeline" / "a_flip_single_scale" /
                            "keypoints_val2017_results.json").read_text())
    # the official output has near-duplicate persons: the default OKS 0.9 NMS alone removes some
    nms_only = PersonFilter(pose_nms=True)
    assert sum(len(nms_only.keep_indices(persons, scores)) for _, persons, scores in per_image(reference)) \
        < len(reference)
    # expected: the filters applied to this pipeline's unfiltered poses (equal to the fixture's up to
    # near-ties, tests/test_predictor.py), so the check holds on every CPU
    person_filter = PersonFilter(pose_nms=True, oks_threshold=0.9, min_score=0.01)
    root = shared / "data" / "coco_sample"
    images = json.loads((root / "annotations" / "person_keypoints_val2017.json").read_text())["images"]
    predictor = Predictor(shared / "tiny" / "tiny_coco.yaml", shared / "tiny" / "tiny_coco.pth", device="cpu")
    unfiltered = [record for image in images for record in
                  predictor.predict(root / "images" / "val2017" / image["file_name"]).records(image["id"])]
    expected = [records[i] for records, persons, scores in per_image(unfiltered)
                for i in person_filter.keep_indices(persons, scores)]

    cfg_file = str(shared / "tiny" / "tiny_coco.yaml")
    opts = ["TEST.MODEL_FILE", str(shared / "tiny" / "tiny_coco.pth"), "DATASET.ROOT",
            str(shared / "data" / "coco_sample"), "OUTPUT_DIR", str(tmp_path / "output"), "LOG_DIR",
            str(tmp_path / "log"), "TEST.POSE_NMS", "True", "TEST.MIN_PERSON_SCORE", "0.01"]
    load_config(cfg_file, opts)  # valid overrides
    run_validation(cfg_file, opts, show_progress=False)
    results_file = tmp_path / "output" / "coco_kpt" / "pose_higher_hrnet" / "tiny_coco" / "results" / \
        "keypoints_val2017_results.json"
    results = json.loads(results_file.read_text())
    assert [r["image_id"] for r in results] == [r["image_id"] for r in expected]
    for ours, theirs in zip(results, expected):
        assert ours["keypoints"] == theirs["keypoints"] and ours["score"] == theirs["score"]
