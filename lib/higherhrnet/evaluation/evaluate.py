"""Evaluate a split's predictions as the official `dataset.evaluate` does: write the results file, then score it.

algorithm.md §7.1-7.3. The results file goes to `<final_output_dir>/results/keypoints_<split>_results.json`
(tools/valid.py, as the official code) unless the caller names another one (validation during training).
COCO splits whose name contains 'test' (test-dev) have no annotations: nothing is evaluated and the table
is `[('Null', 0)]` with AP 0. CrowdPose's `test` split has annotations and is always evaluated.
"""
from higherhrnet.evaluation.metrics import NULL_NAME_VALUES, coco_keypoint_metrics, crowdpose_keypoint_metrics
from higherhrnet.evaluation.results import build_result_records, results_file_path, write_results_json


def evaluate_predictions(dataset_family, annotation_file, split, final_output_dir, image_ids, persons_per_image,
                         scores_per_image, drop_last_joint=False, verbose=True, oks_sigmas=None, results_file=None):
    """Write the results file of a split and return `(name_values, ap)`.

    dataset_family: 'coco' or 'crowd_pose' (see `higherhrnet.keypoints.dataset_family`).
    annotation_file: the split's annotation file (unused for COCO test splits).
    split: DATASET.TEST, e.g. 'val2017', 'test-dev2017', 'test'.
    image_ids, persons_per_image, scores_per_image: one entry per image, as for `build_result_records`
    (persons are (J, >=3) arrays in image pixels: x, y, joint score, optional tags).
    drop_last_joint: True with DATASET.WITH_CENTER and not TEST.IGNORE_CENTER (drops the centre joint).
    verbose: let pycocotools / faster-coco-eval print their summaries.
    oks_sigmas: the OKS sigmas of a custom keypoint layout (None: the official ones of the family).
    results_file: where to write the results (None: the official `results_file_path`).
    """
    if dataset_family not in ("coco", "crowd_pose"):
        raise ValueError(f"dataset family {dataset_family!r}: expected 'coco' or 'crowd_pose'")
    records = build_result_records(image_ids, persons_per_image, scores_per_image, drop_last_joint)
    path = write_results_json(results_file or results_file_path(final_output_dir, split), records)
    if dataset_family == "coco":
        if "test" in split:
            return list(NULL_NAME_VALUES), 0
        return coco_keypoint_metrics(annotation_file, path, verbose, oks_sigmas=oks_sigmas)
    return crowdpose_keypoint_metrics(annotation_file, path, verbose, oks_sigmas=oks_sigmas)
