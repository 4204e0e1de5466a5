"""Timing of the test pipeline on real images: per-stage milliseconds, network variants, end to end.

All numbers are medians of `repeats` runs after `warmup` untimed runs (`codec.benchmark.median_time_ms`).
The network runs under `torch.inference_mode`, exactly through `PosePipeline.forward`.
"""
import dataclasses
import statistics

import torch

from ..codec.benchmark import median_time_ms
from ..data.image_io import read_image_rgb
from ..engine.inference import PosePipeline, prepare

# name -> (bfloat16 autocast, channels-last memory format, original + mirror in one batch)
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


def _pipeline(model, settings, device, **changes):
    return PosePipeline(model, dataclasses.replace(settings, **changes), device)


def time_image_stages(model, settings, device, image_path, repeats, warmup):
    """Milliseconds of read, resize, forward (normal, flip), aggregation and decode for one image.

    Returns ({stage: ms}, context) where context holds the image, its PreparedImage and the decoder maps
    (det, tags) of this network (for the end-to-end numbers; random weights give near-empty maps).
    """
    times = {}
    times["read"], image = median_time_ms(lambda: read_image_rgb(image_path), repeats, warmup)
    times["resize"], prepared = median_time_ms(lambda: prepare(image, settings), repeats, warmup)
    if len(prepared.inputs) != 1:
        raise ValueError("the benchmark times single-scale testing: set TEST.SCALE_FACTOR [1.0]")
    scale_factor, network_input = prepared.inputs[0]
    one_pass = _pipeline(model, settings, device, flip_test=False)
    times["forward"], (outputs, _) = median_time_ms(lambda: one_pass.forward(network_input), repeats, warmup)
    times["forward_flip"] = 0.0
    outputs_flipped = None
    if settings.flip_test:
        mirrored = torch.flip(network_input, [3])
        times["forward_flip"], (outputs_flipped, _) = median_time_ms(lambda: one_pass.forward(mirrored),
                                                                     repeats, warmup)
    pipeline = PosePipeline(model, settings, device)
    per_scale = [(scale_factor, outputs, outputs_flipped)]
    times["aggregation"], (det, tags) = median_time_ms(lambda: pipeline.aggregate(per_scale, prepared.base_size),
                                                       repeats, warmup)
    times["decode_network_maps"], _ = median_time_ms(
        lambda: pipeline.decode(det, tags, prepared.center, prepared.scale), repeats, warmup)
    context = dict(image=image, prepared=prepared, det=det, tags=tags,
                   input_size_hw=tuple(network_input.shape[2:]))
    return times, context


def cpu_has_native_bf16():
    """True when the CPU computes bfloat16 natively (the avx512_bf16 or amx_bf16 flag of /proc/cpuinfo).

    Elsewhere (AVX2, or no /proc/cpuinfo) oneDNN emulates bfloat16: a W32-512 flip test then takes minutes
    instead of seconds (about 100x fp32 on a 2-core AVX2 machine), so the benchmark skips bf16 by default.
    """
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def time_network_variants(model, settings, device, network_input, repeats, warmup, variants=None):
    """Milliseconds of the network part of a flip test (both passes) for each variant of NETWORK_VARIANTS.

    Each variant is `PosePipeline.forward` with InferenceSettings amp / channels_last / batch_flip set.
    Returns {variant: ms}.
    """
    results = {}
    for name in variants or NETWORK_VARIANTS:
        amp, channels_last, batch_flip = NETWORK_VARIANTS[name]
        pipeline = _pipeline(model, settings, device, amp=amp, channels_last=channels_last, batch_flip=batch_flip,
                             flip_test=True)
        results[name], _ = median_time_ms(lambda: pipeline.forward(network_input), repeats, warmup)
    return results


def time_end_to_end(model, settings, device, image, repeats, warmup, amp=False):
    """Median milliseconds of `PosePipeline(image)` (image array in, poses out) and of its parts.

    amp: TEST.AMP (bfloat16 autocast, with the channels-last input InferenceSettings.from_config pairs it
    with on CPU). Returns {'total', 'forward', 'decode' (medians over the same runs), 'other' = total -
    forward}.
    """
    pipeline = _pipeline(model, settings, device, amp=amp, channels_last=amp and device.type == "cpu")
    parts = {"forward": [], "decode": []}

    def run():
        timings = {}
        result = pipeline(image, timings)
        for name in parts:
            parts[name].append(timings[name])
        return result

    total, _ = median_time_ms(run, repeats, warmup)
    medians = {name: statistics.median(values[warmup:]) * 1000.0 for name, values in parts.items()}
    return {"total": total, **medians, "other": total - medians["forward"]}
