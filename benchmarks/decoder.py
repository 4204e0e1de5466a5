"""Section `decoder`: every stage of testing per sample image, and the decoder on crowded synthetic maps.

Per image: read, resize, forward (normal, flip), then the decoder on the outputs of a "perfect" network built
from the image's ground truth at the test geometry (tests/perfect_maps.py): the aggregation, NMS + top-k, matching, adjust, refine (the fast path and the
official-loop reference path on the same values), back-projection, and the COCO evaluation of the sample.
Then crowded synthetic maps of 10 / 20 / 30 persons through both decoder paths. Both paths run in one
process on the same maps, so their ratio is a same-machine, same-moment comparison.
"""
import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.engine.inference import InferenceSettings, PosePipeline, prepare
from higherhrnet.evaluation import evaluate_predictions
from tests import perfect_maps

from .decoder_stages import STAGES as DECODER_STAGES
from .decoder_stages import time_decoders
from .inputs import ANNOTATION_FILE, annotated_images, load_network
from .isolated import run_in_fresh_process
from .timing import median_time_ms

IMAGE_STAGES = ("read", "resize", "forward", "forward_flip", "aggregation") + DECODER_STAGES + ("evaluation",)


def single_scale_settings(cfg, device):
    """InferenceSettings of the config; the benchmark times single-scale testing only."""
    settings = InferenceSettings.from_config(cfg, device)
    if len(settings.scale_factors) != 1:
        raise ValueError("the benchmark times single-scale testing: use TEST.SCALE_FACTOR '[1.0]'")
    return settings


def time_image_stages(pipeline, image_path, repeats, warmup):
    """Milliseconds of read, resize, forward (normal, flip), aggregation and decode for one image.

    Returns ({stage: ms}, context) where context holds the image, its PreparedImage and the decoder maps
    (det, tags) of this network (random weights give maps unlike a trained network's).
    """
    settings, times = pipeline.settings, {}
    times["read"], image = median_time_ms(lambda: read_image_rgb(image_path), repeats, warmup)
    times["resize"], prepared = median_time_ms(lambda: prepare(image, settings), repeats, warmup)
    scale_factor, network_input = prepared.inputs[0]
    one_pass = PosePipeline(pipeline.model, dataclasses.replace(settings, flip_test=False), pipeline.device)
    times["forward"], (outputs, _) = median_time_ms(lambda: one_pass.forward(network_input), repeats, warmup)
    times["forward_flip"] = 0.0
    outputs_flipped = None
    if settings.flip_test:
        mirrored = torch.flip(network_input, [3])
        times["forward_flip"], (outputs_flipped, _) = median_time_ms(lambda: one_pass.forward(mirrored),
                                                                     repeats, warmup)
    per_scale = [(scale_factor, outputs, outputs_flipped)]
    times["aggregation"], (det, tags) = median_time_ms(lambda: pipeline.aggregate(per_scale, prepared.base_size),
                                                       repeats, warmup)
    times["decode_network_maps"], _ = median_time_ms(
        lambda: pipeline.decode(det, tags, prepared.center, prepared.scale), repeats, warmup)
    context = dict(image=image, prepared=prepared, det=det, tags=tags,
                   input_size_hw=tuple(network_input.shape[2:]))
    return times, context


def ground_truth_case(image_shape, annotations, pipeline):
    """The decoder inputs of a "perfect" network for an annotated image, and how each decoder path makes them.

    image_shape: (H, W, 3); annotations: the image's COCO annotation dicts. The two stage outputs of both
    flip passes are built from the ground truth at the test geometry; both decoder paths aggregate them as
    the official code does (PosePipeline.aggregate).
    Returns (case, make_maps): case = dict of `perfect_maps.image_case` with det / tags replaced by the
    materialised aggregation; make_maps = {'fast' | 'reference': function() -> (det, tags)}.
    """
    settings = pipeline.settings
    case = perfect_maps.image_case(image_shape, annotations, settings.input_size)
    width, height = case["heatmap_size"]
    outputs, outputs_flipped = perfect_maps.perfect_stage_outputs(
        case["joints"], (width, height), settings.flip_index, amplitude_step=case["amplitude_step"])
    per_scale = [(1.0, outputs, outputs_flipped if settings.flip_test else None)]
    make_maps = {"fast": lambda: pipeline.aggregate(per_scale, (width, height)),
                 "reference": lambda: pipeline.aggregate(per_scale, (width, height))}
    det, tags = make_maps["reference"]()
    return dict(case, det=det, tags=tags), make_maps


def _time_both_decoders(case, settings, repeats, warmup, reference_repeats, make_maps=None):
    """time_decoders' report for both paths (the slow reference with fewer repeats); outputs compared."""
    decoder = settings.decoder
    geometry = dict(center=case["center"], scale=case["scale"], max_people=decoder.max_people,
                    nms_kernel=decoder.nms_kernel, nms_padding=decoder.nms_padding,
                    detection_threshold=decoder.detection_threshold)
    report = time_decoders(case["det"], case["tags"], repeats=repeats, warmup=warmup, paths=("fast",),
                           make_maps=make_maps, **geometry)
    reference = time_decoders(case["det"], case["tags"], repeats=reference_repeats, warmup=0,
                              paths=("reference",), make_maps=make_maps, **geometry)
    report["reference"] = reference["reference"]
    (fast, fast_scores, _), (ref, ref_scores, _) = report["outputs"]["fast"], reference["outputs"]["reference"]
    report["identical"] = bool(np.array_equal(fast, ref) and np.array_equal(fast_scores, ref_scores))
    return report


def measure_decoder(cfg_file, opts, weights, image_paths, data_root, repeats, warmup, reference_repeats,
                    crowd, crowd_size):
    """The section's numbers (run in a fresh process): {'images': [...], 'evaluation': {...}, 'crowd': [...]}.

    image_paths: the images to time; data_root: COCO layout whose annotation file gives their ground truth
    (images without annotations are decoded on the network's own maps). crowd: persons per synthetic scene;
    crowd_size: (W, H) of its maps. Milliseconds are medians of `repeats` runs after `warmup` ones (the
    reference decoder: `reference_repeats` runs, no warm-up).
    """
    device = torch.device("cpu")
    cfg, model = load_network(cfg_file, opts, weights)
    settings = single_scale_settings(cfg, device)
    pipeline = PosePipeline(model, settings, device)
    timing = dict(repeats=repeats, warmup=warmup, reference_repeats=reference_repeats)
    results = {"images": [], "crowd": []}
    predictions = []
    for path, annotations, image_id in annotated_images(image_paths, data_root):
        stages, context = time_image_stages(pipeline, path, repeats, warmup)
        entry = {"file": os.path.basename(path), "input_size_hw": list(context["input_size_hw"])}
        make_maps = None
        if annotations is not None:
            case, make_maps = ground_truth_case(context["image"].shape, annotations, pipeline)
            entry["maps"] = "ground truth"
            entry["num_persons_gt"] = len(case["joints"])
        else:
            case = dict(det=context["det"], tags=context["tags"], center=context["prepared"].center,
                        scale=context["prepared"].scale)
            entry["maps"] = "network"
        decoders = _time_both_decoders(case, settings, make_maps=make_maps, **timing)
        entry["identical"] = decoders["identical"]
        entry["num_persons_found"] = decoders["num_persons"]
        entry["decode_network_maps"] = stages.pop("decode_network_maps")
        for path_name in ("fast", "reference"):
            aggregation = decoders[path_name]["aggregation"] if make_maps else stages["aggregation"]
            entry[path_name] = {**stages, "aggregation": aggregation,
                                **{stage: decoders[path_name][stage] for stage in DECODER_STAGES}}
        results["images"].append(entry)
        if image_id is not None:
            _, scores, final = decoders["outputs"]["fast"]
            predictions.append((image_id, final, [float(score) for score in scores]))

    if predictions:
        annotation_file = os.path.join(data_root, ANNOTATION_FILE)
        with tempfile.TemporaryDirectory() as folder:
            def evaluate():
                return evaluate_predictions("coco", annotation_file, "val2017", Path(folder),
                                            [p[0] for p in predictions], [p[1] for p in predictions],
                                            [p[2] for p in predictions], verbose=False)
            eval_ms, (_, ap) = median_time_ms(evaluate, repeats, warmup)
        results["evaluation"] = {"ms": eval_ms, "num_images": len(predictions), "ap_of_ground_truth_maps": float(ap)}
        for entry in results["images"]:
            entry["fast"]["evaluation"] = entry["reference"]["evaluation"] = eval_ms / len(predictions)
    for entry in results["images"]:
        for path_name in ("fast", "reference"):
            times = entry[path_name]
            times.setdefault("evaluation", 0.0)
            times["total"] = sum(times[stage] for stage in IMAGE_STAGES)
            times["decoder"] = times["aggregation"] + sum(times[stage] for stage in DECODER_STAGES)

    for num_persons in crowd:
        case = perfect_maps.crowd_case(num_persons, tuple(crowd_size), seed=num_persons)
        decoders = _time_both_decoders(case, settings, **timing)
        results["crowd"].append({"num_persons": num_persons, "size_wh": list(crowd_size),
                                 "num_persons_found": decoders["num_persons"], "num_missing": decoders["num_missing"],
                                 "identical": decoders["identical"], "fast": decoders["fast"],
                                 "reference": decoders["reference"]})
    return results


def run_decoder_section(options, image_paths, data_root):
    """The decoder section, measured in one fresh process."""
    return run_in_fresh_process("decoder", dict(
        cfg_file=options.cfg, opts=list(options.opts), weights=options.weights, image_paths=image_paths,
        data_root=data_root, repeats=options.repeats, warmup=options.warmup,
        reference_repeats=options.reference_repeats, crowd=list(options.crowd),
        crowd_size=list(options.crowd_size)), options.threads)
