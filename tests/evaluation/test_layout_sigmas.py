"""A custom keypoint layout is scored by pycocotools / faster-coco-eval with its own sigmas (kpt_oks_sigmas)."""
import contextlib
import copy
import io

import numpy as np
import pytest

from higherhrnet.evaluation.metrics import coco_keypoint_metrics, crowdpose_keypoint_metrics
from higherhrnet.pose_nms import PersonFilter

SIGMAS = np.array([0.03, 0.03, 0.05, 0.05, 0.08, 0.08, 0.1, 0.1, 0.04, 0.04])
NUM_JOINTS = len(SIGMAS)


def _ground_truth_and_results(seed=0, people=6):
    rng = np.random.default_rng(seed)
    images, annotations, records = [], [], []
    for index in range(people):
        joints = np.column_stack([rng.uniform(20, 120, NUM_JOINTS), rng.uniform(20, 160, NUM_JOINTS),
                                  np.full(NUM_JOINTS, 2.0)])
        x0, y0 = joints[:, :2].min(0)
        w, h = joints[:, :2].max(0) - (x0, y0)
        images.append({"id": index + 1, "file_name": f"{index + 1}.jpg", "width": 200, "height": 200,
                       "crowdIndex": 0.1 * index})
        annotations.append({"id": index + 1, "image_id": index + 1, "category_id": 1, "iscrowd": 0,
                            "keypoints": joints.reshape(-1).tolist(), "num_keypoints": NUM_JOINTS,
                            "area": float(w * h), "bbox": [float(x0), float(y0), float(w), float(h)]})
        noisy = joints.copy()
        noisy[:, :2] += rng.normal(0, 1.5 + index, (NUM_JOINTS, 2))
        records.append({"image_id": index + 1, "category_id": 1, "keypoints": noisy.reshape(-1).tolist(),
                        "score": 1.0 - 0.1 * index})
    categories = [{"id": 1, "name": "thing", "keypoints": [f"k{k}" for k in range(NUM_JOINTS)], "skeleton": []}]
    return {"images": images, "annotations": annotations, "categories": categories}, records


def _pycocotools_ap(dataset, records, sigmas):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = copy.deepcopy(dataset)
        ground_truth.createIndex()
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(copy.deepcopy(records)), "keypoints")
        evaluation.params.kpt_oks_sigmas = sigmas
        evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()
    return evaluation.stats[0]


def test_coco_metrics_use_the_layout_sigmas():
    dataset, records = _ground_truth_and_results()
    _, ap = coco_keypoint_metrics(dataset, records, verbose=False, oks_sigmas=SIGMAS)
    assert 0 < ap < 1 and ap == _pycocotools_ap(dataset, records, SIGMAS)
    _, wider_ap = coco_keypoint_metrics(dataset, records, verbose=False, oks_sigmas=3 * SIGMAS)
    assert wider_ap > ap  # the sigmas really reach the evaluator


def test_crowdpose_metrics_use_the_layout_sigmas():
    dataset, records = _ground_truth_and_results()
    _, ap = crowdpose_keypoint_metrics(dataset, records, verbose=False, oks_sigmas=SIGMAS)
    _, wider_ap = crowdpose_keypoint_metrics(dataset, records, verbose=False, oks_sigmas=3 * SIGMAS)
    assert 0 <= ap < wider_ap


def test_ten_joint_results_need_ten_joint_sigmas():
    dataset, records = _ground_truth_and_results()
    with pytest.raises(ValueError, match="30 keypoint values, expected 51"):
        coco_keypoint_metrics(dataset, records, verbose=False)


def test_pose_nms_takes_the_layout_sigmas():
    class Cfg:
        class TEST:
            POSE_NMS, POSE_NMS_OKS, MIN_PERSON_SCORE = True, 0.5, 0.0
    person = np.column_stack([np.arange(NUM_JOINTS) * 10.0, np.arange(NUM_JOINTS) * 7.0, np.ones(NUM_JOINTS)])
    persons, scores = [person, person + 0.5], [0.9, 0.8]
    kept, _ = PersonFilter.from_config(Cfg, sigmas=SIGMAS)(persons, scores)
    assert len(kept) == 1
    with pytest.raises(ValueError, match="no OKS sigmas known for 10 joints"):
        PersonFilter.from_config(Cfg)(persons, scores)
