"""Evaluation: the keypoint results file, COCO and CrowdPose AP tables, and the printed table (algorithm.md §7).

    results.py      records per person, image ids, `write_results_json` (byte-identical to the official file)
    metrics.py      `coco_keypoint_metrics` (pycocotools), `crowdpose_keypoint_metrics` (faster-coco-eval)
    evaluate.py     `evaluate_predictions`: write the results file, then score it (the official `evaluate`)
    table.py        the official Markdown table lines
    annotations.py  annotation-file loading with one-line errors (`AnnotationError`)
"""
from higherhrnet.evaluation.annotations import AnnotationError, load_annotation_file
from higherhrnet.evaluation.evaluate import evaluate_predictions
from higherhrnet.evaluation.metrics import (COCO_METRIC_NAMES, CROWDPOSE_METRIC_NAMES, coco_keypoint_metrics,
                                            crowdpose_keypoint_metrics)
from higherhrnet.evaluation.results import (ResultsFileError, build_result_records, coco_image_id_from_file_name,
                                            crowdpose_image_id_from_file_name, read_results_json,
                                            result_image_id, results_file_path, write_results_json)
from higherhrnet.evaluation.table import name_value_table_lines

__all__ = [
    "AnnotationError", "COCO_METRIC_NAMES", "CROWDPOSE_METRIC_NAMES", "ResultsFileError",
    "build_result_records", "coco_image_id_from_file_name", "coco_keypoint_metrics",
    "crowdpose_image_id_from_file_name", "crowdpose_keypoint_metrics", "evaluate_predictions",
    "load_annotation_file", "name_value_table_lines", "read_results_json", "result_image_id",
    "results_file_path", "write_results_json",
]
