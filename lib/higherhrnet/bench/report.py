"""Plain-text tables of a benchmark results dict (milliseconds and shares of the total)."""
import statistics

from ..codec.benchmark import STAGES as DECODER_STAGES

IMAGE_STAGE_LABELS = {
    "read": "read", "resize": "resize", "forward": "forward", "forward_flip": "forward (flip)",
    "aggregation": "aggregation", "top_k": "NMS + top-k", "match": "matching", "adjust": "adjust",
    "refine": "refine", "back_projection": "back-projection", "evaluation": "evaluation (per image)",
}


def _table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(cell).rjust(width) if index else str(cell).ljust(width)  # noqa: E731
                                   for index, (cell, width) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), line(["-" * width for width in widths])] + [line(row) for row in rows])


def _ms(value):
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _share(value, total):
    return f"{100 * value / total:.1f} %" if total else "-"


def image_table(images):
    """Mean over the images of every stage: fast path and reference path (same maps)."""
    mean = {path: {stage: statistics.fmean(entry[path][stage] for entry in images)
                   for stage in list(IMAGE_STAGE_LABELS) + ["total", "decoder"]} for path in ("fast", "reference")}
    rows = []
    for stage, label in IMAGE_STAGE_LABELS.items():
        fast, reference = mean["fast"][stage], mean["reference"][stage]
        rows.append([label, _ms(fast), _share(fast, mean["fast"]["total"]), _ms(reference),
                     _share(reference, mean["reference"]["total"])])
    for stage in ("decoder", "total"):
        fast, reference = mean["fast"][stage], mean["reference"][stage]
        label = "decoder (aggregation .. back-projection)" if stage == "decoder" else "total"
        rows.append([label, _ms(fast), _share(fast, mean["fast"]["total"]), _ms(reference),
                     _share(reference, mean["reference"]["total"])])
    sizes = ", ".join(f"{entry['file']} {entry['input_size_hw'][1]}x{entry['input_size_hw'][0]}"
                      f" ({entry.get('num_persons_found', 0)} persons, {entry['maps']} maps,"
                      f" identical {entry['identical']})" for entry in images)
    title = f"Per sample image, mean of {len(images)} image(s), median ms after warm-up: {sizes}"
    return title + "\n" + _table(["stage", "fast ms", "share", "reference ms", "share"], rows)


def crowd_table(crowd):
    rows = []
    for entry in crowd:
        for path in ("fast", "reference"):
            times = entry[path]
            rows.append([f"{entry['num_persons']} persons" if path == "fast" else "", path] +
                        [_ms(times[stage]) for stage in DECODER_STAGES] + [_ms(times["total"])])
        rows.append(["", "speed-up"] + [""] * len(DECODER_STAGES) +
                    [f"x{entry['reference']['total'] / max(entry['fast']['total'], 1e-9):.1f}"
                     f" (identical {entry['identical']}, {entry['num_persons_found']} found,"
                     f" {entry['num_missing']} refined)"])
    size = crowd[0]["size_wh"] if crowd else ["?", "?"]
    title = f"Crowded synthetic maps {size[0]}x{size[1]}, 2 tag channels, decoder stages (median ms)"
    return title + "\n" + _table(["case", "path", "NMS + top-k", "matching", "adjust", "refine",
                                  "back-proj.", "total"], rows)


def network_table(net):
    variants = net["variants"]
    base = variants.get("fp32")
    rows = [[name, _ms(ms), f"x{base / ms:.2f}" if base else "-"] for name, ms in variants.items()]
    text = (f"Network, flip test (both passes), {net['file']} input {net['input_size_hw'][1]}x"
            f"{net['input_size_hw'][0]}, median ms\n" + _table(["variant", "ms", "speed-up vs fp32"], rows))
    e2e_rows = []
    for name, v in net["end_to_end"].items():
        row = [name, _ms(v["total"]), _ms(v["forward"]), _ms(v["decode"]), _share(v["other"], v["forward"])]
        if "total_gt_decode" in v:
            row += [_ms(v["decode_gt_maps"]), _ms(v["total_gt_decode"]),
                    _share(v["total_gt_decode"] - v["forward"], v["forward"])]
        e2e_rows.append(row)
    header = ["precision", "total", "forwards", "decode", "rest / forwards"]
    if len(e2e_rows[0]) > len(header):
        header += ["GT-map decode", "total with it", "rest / forwards"]
    text += ("\n\nEnd to end, PosePipeline(image) (median ms; random weights give unrealistically dense maps, "
             "so the total is also given with the decode time of the image's ground-truth maps)\n" +
             _table(header, e2e_rows))
    if not net.get("bf16_timed", True):
        text += ("\nbfloat16 not timed: this CPU has no native bfloat16 (avx512_bf16 / amx_bf16), where it is "
                 "emulated and about 100x slower; --bf16 on times it anyway")
    return text


def train_table(train):
    data = train["data_pipeline"]
    rows = [["data pipeline, WORKERS 0 (dataset[i] in one process)",
             f"{data['workers_0_samples_per_s']:.0f} samples/s"],
            ["data loader, 1 worker (compact batches, as in training)",
             f"{data['workers_1_samples_per_s']:.0f} samples/s"],
            ["  same with dense batches (official transfer)", f"{data['workers_1_dense_samples_per_s']:.0f} samples/s"],
            ["data loader, 2 workers (total)", f"{data['workers_2_samples_per_s']:.0f} samples/s"],
            ["data loader, 2 workers (per worker)", f"{data['workers_2_per_worker']:.0f} samples/s"],
            ["loss, 30 persons, batch 2: forward", f"{_ms(train['loss']['forward'])} ms"],
            ["loss, 30 persons, batch 2: forward + backward", f"{_ms(train['loss']['forward_backward'])} ms"]]
    if "reference_forward" in train["loss"]:
        rows += [["  official-style loss: forward", f"{_ms(train['loss']['reference_forward'])} ms"],
                 ["  official-style loss: forward + backward",
                  f"{_ms(train['loss']['reference_forward_backward'])} ms"]]
    for name, step in train["step"].items():
        rows.append([f"training step batch {train['batch_size']}, {name.replace('_', ' ')}",
                     f"{_ms(step['step_ms'])} ms ({step['samples_per_second']:.2f} samples/s)"])
    return "Training (medians)\n" + _table(["what", "value"], rows)


def accuracy_table(accuracy):
    """AP of the tiny fixture model per test setting, and each switch's change from the default path."""
    names = [name for name in next(iter(accuracy.values())) if name != "official"]
    rows = []
    for setting, row in accuracy.items():
        rows.append([setting, f"{row['official']:.4f}"] +
                    [f"{row[name]:.4f}" if name == "default" else f"{row[name]:.4f} ({row[name] - row['default']:+.4f})"
                     for name in names])
    return ("AP effect of the switches that change results (tiny fixture model, COCO sample)\n" +
            _table(["setting", "official"] + names, rows))


def targets_table(targets):
    rows = [[t["name"], t["target"], t["measured"], "yes" if t["met"] else "NO"] for t in targets]
    return "Targets (issue 6)\n" + _table(["target", "goal", "measured", "met"], rows)


def format_results(results):
    """All tables of a results dict, separated by blank lines."""
    env = results["environment"]
    parts = [f"torch {env['torch']}, {env['threads']} threads, {env['cpus']} CPUs, load average "
             f"{env['load_average'][0]:.1f} at start, {env.get('load_average_end', ['?'])[0]} at end"]
    decoder = results.get("decoder")
    if decoder:
        if decoder["images"]:
            parts.append(image_table(decoder["images"]))
        if "evaluation" in decoder:
            evaluation = decoder["evaluation"]
            parts.append(f"COCO evaluation of the sample: {_ms(evaluation['ms'])} ms for {evaluation['num_images']}"
                         f" image(s); AP of the ground-truth maps through the fast decoder "
                         f"{evaluation['ap_of_ground_truth_maps']:.4f}")
        if decoder["crowd"]:
            parts.append(crowd_table(decoder["crowd"]))
    if results.get("network"):
        parts.append(network_table(results["network"]))
    if results.get("train"):
        parts.append(train_table(results["train"]))
    if results.get("accuracy"):
        parts.append(accuracy_table(results["accuracy"]))
    if results.get("targets"):
        parts.append(targets_table(results["targets"]))
    return "\n\n".join(parts)
