"""Section `network`: the network part of a flip test per variant, and the whole pipeline end to end.

Each variant (fp32 / bf16, channels-last input, original and mirror in one batch) and each end-to-end
precision is timed in its own fresh process (isolated.py): the network is built there, warmed up on the very
input it is then timed on (at least one untimed call: the first call at a shape builds oneDNN's kernels for
it), and the median of the timed runs is reported with the first call beside it.
End to end is `PosePipeline(image)` (image array in, poses out). Its decoder is timed twice: on the
network's own output maps (the real decoder as it runs; with random weights those maps are unlike a trained
network's, with many more candidates) and, separately, on the ground-truth "perfect" maps of the image
(realistic maps, through the same aggregation), which give the total a trained network would see.
"""
import dataclasses
import os
import statistics

import torch

from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.engine.inference import PosePipeline, prepare

from .decoder import ground_truth_case, single_scale_settings
from .inputs import annotated_images, load_network
from .isolated import run_in_fresh_process
from .timing import first_and_warm_ms, median_time_ms

# name -> (bfloat16 autocast, channels-last input, original + mirror in one batch)
NETWORK_VARIANTS = {
    "fp32": (False, False, False),
    "fp32_batch_flip": (False, False, True),
    "fp32_channels_last": (False, True, False),
    "bf16": (True, False, False),
    "bf16_batch_flip": (True, False, True),
    "bf16_channels_last": (True, True, False),
    "bf16_channels_last_batch_flip": (True, True, True),
}
# The channels-last variants set only the input's layout, as PosePipeline does (the layout propagates).


def _pipeline(cfg_file, opts, weights, **changes):
    device = torch.device("cpu")
    cfg, model = load_network(cfg_file, opts, weights)
    settings = dataclasses.replace(single_scale_settings(cfg, device), **changes)
    return PosePipeline(model, settings, device)


def time_variant(cfg_file, opts, weights, image_path, variant, repeats, warmup):
    """Milliseconds of `PosePipeline.forward` (both flip passes) for one variant of NETWORK_VARIANTS.

    The input is the image's scale-1.0 network input (1, 3, H, W). Returns {'ms': median of `repeats`
    runs, 'runs_ms', 'first_call_ms' (the first call in the process, at this shape), 'input_size_hw'}.
    """
    amp, channels_last, batch_flip = NETWORK_VARIANTS[variant]
    pipeline = _pipeline(cfg_file, opts, weights, amp=amp, channels_last=channels_last, batch_flip=batch_flip,
                         flip_test=True)
    network_input = prepare(read_image_rgb(image_path), pipeline.settings).inputs[0][1]
    first_call_ms, median_ms, runs = first_and_warm_ms(lambda: pipeline.forward(network_input), repeats, warmup)
    return {"ms": median_ms, "runs_ms": runs, "first_call_ms": first_call_ms,
            "input_size_hw": list(network_input.shape[2:])}


def time_end_to_end(cfg_file, opts, weights, image_path, data_root, amp, repeats, warmup):
    """Median milliseconds of `PosePipeline(image)` and of its parts, for TEST.AMP off (fp32) or on (bf16).

    amp pairs bfloat16 autocast with the channels-last input, as InferenceSettings.from_config does on CPU.
    Returns {'total', 'forward' (both passes), 'decoder_network_maps' (aggregation + decode of the network's
    maps), 'other' (total - forward), 'num_persons_network_maps'} (medians over the same timed runs), and when
    the image is annotated in data_root: 'decoder_gt_maps' (aggregation + decode of its ground-truth stage
    outputs), 'num_persons_gt_maps', 'total_gt_decoder' = total - decoder_network_maps + decoder_gt_maps.
    """
    pipeline = _pipeline(cfg_file, opts, weights, amp=amp, channels_last=amp)
    image = read_image_rgb(image_path)
    parts = {"forward": [], "decoder": []}
    found = []

    def run():
        timings = {}
        persons, _ = pipeline(image, timings)
        parts["forward"].append(timings["forward"])
        parts["decoder"].append(timings["aggregate"] + timings["decode"])
        found.append(len(persons))

    untimed = max(1, warmup)
    total, _ = median_time_ms(run, repeats, untimed)
    medians = {name: statistics.median(values[untimed:]) * 1000.0 for name, values in parts.items()}
    result = {"total": total, "forward": medians["forward"], "decoder_network_maps": medians["decoder"],
              "other": total - medians["forward"], "num_persons_network_maps": found[-1]}
    (_, annotations, _), = annotated_images([image_path], data_root)
    if annotations is not None:
        case, make_maps = ground_truth_case(image.shape, annotations, pipeline)
        build = make_maps["fast" if pipeline.settings.decoder.fast else "reference"]
        decoder_gt, (persons, _) = median_time_ms(lambda: pipeline.decode(*build(), case["center"], case["scale"]),
                                                  repeats, untimed)
        result.update(decoder_gt_maps=decoder_gt, num_persons_gt_maps=len(persons),
                      total_gt_decoder=total - result["decoder_network_maps"] + decoder_gt)
    return result


def network_variant_names(requested, bf16):
    """(variants to time, bf16 variants skipped): `requested` (default: all) without bf16 unless `bf16`."""
    names = list(requested or NETWORK_VARIANTS)
    unknown = [name for name in names if name not in NETWORK_VARIANTS]
    if unknown:
        raise ValueError(f"unknown network variant(s) {unknown}; valid: {', '.join(NETWORK_VARIANTS)}")
    skipped = [name for name in names if NETWORK_VARIANTS[name][0] and not bf16]
    return [name for name in names if name not in skipped], skipped


def run_network_section(options, image_path, data_root, bf16, progress):
    """Variants and end to end on one image, each in a fresh process."""
    names, skipped = network_variant_names(options.variants, bf16)
    common = dict(cfg_file=options.cfg, opts=list(options.opts), weights=options.weights, image_path=image_path,
                  repeats=options.repeats, warmup=options.warmup)
    variants = {}
    for name in names:
        progress(f"network: {name}")
        variants[name] = run_in_fresh_process("network_variant", dict(common, variant=name), options.threads)
    end_to_end = {}
    for precision, amp in (("fp32", False), ("bf16", True)):
        if amp and not bf16:
            continue
        progress(f"network: end to end, {precision}")
        end_to_end[precision] = run_in_fresh_process("end_to_end", dict(common, data_root=data_root, amp=amp),
                                                     options.threads)
    input_size_hw = next(iter(variants.values()))["input_size_hw"] if variants else None
    return {"file": os.path.basename(image_path), "input_size_hw": input_size_hw, "variants": variants,
            "end_to_end": end_to_end, "bf16_timed": bool(bf16), "bf16_skipped": skipped}
