"""Keypoint AP tables: COCO (pycocotools, algorithm.md §7.2) and CrowdPose (faster-coco-eval, algorithm.md §7.3).

Both evaluators take the ground truth (a path to the annotation file, or its parsed dict) and the results
(a path to a results file, or a list of records as built by `results.build_result_records`) and return
`(name_values, ap)`: an ordered list of (official name, float) pairs and the AP (first entry).
The libraries print their usual summary; `verbose=False` silences it (tests).
No person in any image (empty results) gives an all-zero table and a RuntimeWarning instead of the
official crash inside `loadRes` (B16).
"""
import contextlib
import copy
import io
import os
import warnings

import numpy as np

from higherhrnet.evaluation.annotations import (COCO_ANNOTATION_KEYS, COCO_IMAGE_KEYS, CROWDPOSE_ANNOTATION_KEYS,
                                                CROWDPOSE_IMAGE_KEYS, check_annotation_dataset, load_annotation_file)
from higherhrnet.evaluation.results import ResultsFileError, check_result_records, read_results_json
from higherhrnet.keypoints import COCO_OKS_SIGMAS, CROWDPOSE_OKS_SIGMAS

# Official names, in the order of pycocotools' keypoint `stats[0..9]` (note the lower-case "p" in "Ap .5").
COCO_METRIC_NAMES = ("AP", "Ap .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
# Official CrowdPose names; faster-coco-eval's 9-slot summary has exactly this order (indices 0..8).
CROWDPOSE_METRIC_NAMES = ("AP", "Ap .5", "AP .75", "AR", "AR .5", "AR .75", "AP (easy)", "AP (medium)", "AP (hard)")
# The result of a split without annotations (COCO test-dev): nothing is evaluated.
NULL_NAME_VALUES = [("Null", 0)]


def coco_keypoint_metrics(annotations, results, verbose=True, oks_sigmas=None):
    """COCO keypoint AP with pycocotools, as the official `CocoDataset.evaluate`.

    annotations: path to `person_keypoints_<split>.json` or its parsed dict.
    results: path to a results file or a list of records (not modified).
    `COCOeval(gt, dt, 'keypoints')`, `params.useSegm = None`, default keypoint parameters (maxDets 20,
    the 17 COCO OKS sigmas, areas all / medium / large), evaluate, accumulate, summarize.
    oks_sigmas: J sigmas of a custom keypoint layout, set as pycocotools' own `params.kpt_oks_sigmas`
    (None: the library's 17 COCO sigmas, official).
    Returns ([(name, value)] in COCO_METRIC_NAMES order, AP).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dataset, source = _annotation_dataset(annotations, COCO_IMAGE_KEYS, COCO_ANNOTATION_KEYS)
    num_joints = len(COCO_OKS_SIGMAS) if oks_sigmas is None else len(oks_sigmas)
    records = _result_records(results, dataset, source, num_joints=num_joints)
    if not records:
        return _empty_table(COCO_METRIC_NAMES, source)
    with _library_output(verbose):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(records)
        coco_eval = COCOeval(coco_gt, coco_dt, "keypoints")
        coco_eval.params.useSegm = None
        if oks_sigmas is not None:
            coco_eval.params.kpt_oks_sigmas = np.asarray(oks_sigmas, dtype=np.float64)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    name_values = [(name, float(coco_eval.stats[index])) for index, name in enumerate(COCO_METRIC_NAMES)]
    return name_values, name_values[0][1]


def crowdpose_keypoint_metrics(annotations, results, verbose=True, oks_sigmas=None):
    """CrowdPose keypoint AP with faster-coco-eval, reproducing the official crowdposetools semantics.

    annotations: path to `crowdpose_<split>.json` or its parsed dict (every image needs `crowdIndex`).
    results: path to a results file or a list of records (not modified).
    oks_sigmas: J sigmas of a custom keypoint layout (None: the 14 CrowdPose sigmas, official).
    Returns ([(name, value)] in CROWDPOSE_METRIC_NAMES order, AP).

    How each CrowdPose rule is obtained from `COCOeval_faster(gt, dt, 'keypoints_crowd',
    kpt_oks_sigmas=CROWDPOSE_OKS_SIGMAS, use_area=False)`:
    * OKS sigmas: the 14 CrowdPose sigmas, passed as `kpt_oks_sigmas`.
    * OKS area term `bbox_w * bbox_h * 0.53` of the GT box: `use_area=False` (`computeOks`); with the
      default `use_area=True` it would read the GT `area`, which CrowdPose files do not have.
    * maxDets 20: the library's keypoint parameters (`setKpParams`, also for 'keypoints_crowd').
    * GT ignored if `iscrowd` or `num_keypoints == 0`: `_prepare` sets `ignore` that way for every
      iouType containing 'keypoints'.
    * AP (easy / medium / hard): 'keypoints_crowd' makes `summarize` call `get_type_result(0.2, 0.8)`, which
      splits the GT images by `crowdIndex` (< 0.2 easy, < 0.8 medium, else hard), evaluates and
      accumulates each subset alone and reports `round(mean(precision[:, :, :, area all, :]), 4)`, the
      mean of the whole precision array (-1 entries included) as crowdposetools does. A subset without
      images therefore reports -1.
    * Summary order AP, AP .5, AP .75, AR, AR .5, AR .75, AP(E), AP(M), AP(H): stats indices 0..8 (the
      official crowdposetools indices 0, 1, 2, 5, 6, 7, 8, 9, 10 refer to its 11-slot layout).
    """
    from faster_coco_eval import COCO, COCOeval_faster

    dataset, source = _annotation_dataset(annotations, CROWDPOSE_IMAGE_KEYS, CROWDPOSE_ANNOTATION_KEYS)
    sigmas = CROWDPOSE_OKS_SIGMAS if oks_sigmas is None else np.asarray(oks_sigmas, dtype=np.float64)
    records = _result_records(results, dataset, source, num_joints=len(sigmas))
    if not records:
        return _empty_table(CROWDPOSE_METRIC_NAMES, source)
    with _library_output(verbose):
        coco_gt = COCO(dataset)
        coco_dt = coco_gt.loadRes(records)
        coco_eval = COCOeval_faster(coco_gt, coco_dt, "keypoints_crowd", kpt_oks_sigmas=sigmas,
                                    use_area=False, print_function=print)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    name_values = [(name, float(coco_eval.stats[index])) for index, name in enumerate(CROWDPOSE_METRIC_NAMES)]
    return name_values, name_values[0][1]


def _annotation_dataset(annotations, image_keys, annotation_keys):
    """(fresh parsed dict, label for messages) from a path or an already parsed dict (deep-copied)."""
    if isinstance(annotations, dict):
        check_annotation_dataset(annotations, "annotations", image_keys, annotation_keys)
        return copy.deepcopy(annotations), "annotations"
    return load_annotation_file(annotations, image_keys, annotation_keys), os.fspath(annotations)


def _result_records(results, dataset, annotation_source, num_joints):
    """Deep copy of the records (the libraries add keys in place), checked against the annotations."""
    if isinstance(results, (str, os.PathLike)):
        records = read_results_json(results)
        source = os.fspath(results)
    else:
        records = copy.deepcopy(list(results))
        source = "results"
    check_result_records(records, source, num_joints)
    known_images = {image["id"] for image in dataset["images"]}
    unknown = sorted({record["image_id"] for record in records} - known_images, key=str)
    if unknown:
        raise ResultsFileError(f"{source}: image ids {unknown[:5]} are not in {annotation_source} "
                               f"({len(unknown)} unknown); results must use the annotation's image ids")
    return records


def _empty_table(names, annotation_source):
    warnings.warn(f"no person predicted in any image of {annotation_source}: every metric is set to 0",
                  RuntimeWarning, stacklevel=3)
    return [(name, 0.0) for name in names], 0.0


def _library_output(verbose):
    """Context letting pycocotools / faster-coco-eval print to stdout, or swallowing it when not verbose."""
    if verbose:
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(io.StringIO())
