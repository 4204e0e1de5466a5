"""Plain-text tables of a benchmark results dict (milliseconds, shares of the total, same-run ratios)."""
import statistics

from .decoder_stages import STAGES as DECODER_STAGES
from .training import OFFICIAL_STEP

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


def _yes(flag):
    return "yes" if flag else "no"


def machine_line(env):
    """CPU model, torch's CPU capability, AMX, AVX512-BF16, bfloat16 handling and threads, in one line."""
    bf16 = "native" if env["bf16_native"] else "emulated"
    timed = "timed" if env["bf16_timed"] else "not timed (--bf16 on times it)"
    return (f"Machine: {env['cpu_model']}; torch {env['torch']}, CPU capability {env['cpu_capability']}; "
            f"AMX {_yes(env['amx'])}; AVX512-BF16 {_yes(env['avx512_bf16'])}; bfloat16 {bf16}, {timed}; "
            f"{env['threads']} threads per measurement process ({env['cpus']} CPUs)")


def _load(result):
    """The 1-minute load average at the start and end of a measurement process, e.g. '2.1-2.4'."""
    start, end = result["process"]["load_average"]
    return f"{start:.1f}-{end:.1f}"


def _short_machine(env):
    return (f"{env['cpu_model']}, {env['cpu_capability']}, AMX {_yes(env['amx'])}, "
            f"AVX512-BF16 {_yes(env['avx512_bf16'])}, {env['threads']} threads")


def image_table(images):
    """Mean over the images of every stage: fast path and reference path (same maps)."""
    mean = {path: {stage: statistics.fmean(entry[path][stage] for entry in images)
                   for stage in list(IMAGE_STAGE_LABELS) + ["total", "decoder"]} for path in ("fast", "reference")}
    rows = []
    for stage, label in list(IMAGE_STAGE_LABELS.items()) + [("decoder", "decoder (aggregation .. back-projection)"),
                                                            ("total", "total")]:
        fast, reference = mean["fast"][stage], mean["reference"][stage]
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


def decoder_tables(decoder):
    parts = []
    if decoder["images"]:
        parts.append(image_table(decoder["images"]))
    if "evaluation" in decoder:
        evaluation = decoder["evaluation"]
        parts.append(f"COCO evaluation of the sample: {_ms(evaluation['ms'])} ms for {evaluation['num_images']}"
                     f" image(s); AP of the ground-truth maps through the fast decoder "
                     f"{evaluation['ap_of_ground_truth_maps']:.4f}")
    if decoder["crowd"]:
        parts.append(crowd_table(decoder["crowd"]))
    return parts


def network_table(net, env):
    """Variants (median, first call, same-run speed-up over fp32), then end to end."""
    variants = net["variants"]
    base = variants["fp32"]["ms"] if "fp32" in variants else None
    rows = [[name, _ms(v["ms"]), _ms(v["first_call_ms"]), f"x{base / v['ms']:.2f}" if base else "-", _load(v)]
            for name, v in variants.items()]
    size = f"{net['input_size_hw'][1]}x{net['input_size_hw'][0]}" if net["input_size_hw"] else "?"
    text = (f"Network, flip test (both passes), {net['file']} input {size}; each variant in a fresh "
            f"process, median ms after warm-up on the same input ({_short_machine(env)})\n" +
            _table(["variant", "median ms", "first call ms", "speed-up vs fp32 (this run)", "load avg"], rows))
    if net["bf16_skipped"]:
        text += (f"\nnot timed: {', '.join(net['bf16_skipped'])} (this CPU has no native bfloat16, where oneDNN "
                 "emulates it very slowly; --bf16 on times them anyway)")
    rows = []
    for name, v in net["end_to_end"].items():
        row = [name, _ms(v["total"]), _ms(v["forward"]), _share(v["other"], v["forward"]),
               f"{_ms(v['decoder_network_maps'])} ({v['num_persons_network_maps']})"]
        if "total_gt_decoder" in v:
            row += [f"{_ms(v['decoder_gt_maps'])} ({v['num_persons_gt_maps']})", _ms(v["total_gt_decoder"]),
                    _share(v["total_gt_decoder"] - v["forward"], v["forward"])]
        rows.append(row + [_load(v)])
    if rows:
        header = ["precision", "total", "forwards", "rest / forwards", "decoder, network maps (persons)"]
        if len(rows[0]) > len(header) + 1:
            header += ["decoder, GT maps (persons)", "total with GT-map decoder", "rest / forwards"]
        header.append("load avg")
        text += ("\n\nEnd to end, PosePipeline(image), each precision in a fresh process (median ms). The decoder "
                 "(aggregation + decode) is timed on the network's own maps (random weights: unrealistically dense) "
                 "and, separately, on the image's ground-truth maps\n" + _table(header, rows))
    return text


def shapes_tables(shapes, env):
    """Per backend: first call per new input shape against warmed calls; then the folder through the Predictor."""
    parts = []
    for run in shapes["runs"]:
        calls = run["first_calls"]
        rows = [[f"{entry['image_size_wh'][0]}x{entry['image_size_wh'][1]}",
                 f"{entry['input_size_hw'][1]}x{entry['input_size_hw'][0]}", _yes(entry["new_shape"]),
                 _ms(entry["first_ms"]), _ms(entry["warm_ms"]), _ms(entry["first_ms"] - entry["warm_ms"]),
                 f"x{entry['first_ms'] / entry['warm_ms']:.2f}"] for entry in calls["sizes"]]
        parts.append(f"First call per input shape, {run['backend']} {run['precision']}, flip test's network part "
                     f"(both passes), median of {env['repeats']} warm calls, fresh process ({_short_machine(env)}; "
                     f"load avg {_load(calls)}); the process's first call, on a 64x64 input, took "
                     f"{_ms(calls['startup_call_ms'])} ms\n" +
                     _table(["image", "input", "new shape", "first ms", "warm ms", "extra ms", "first / warm"], rows))
    rows = []
    for run in shapes["runs"]:
        folder = run["folder"]
        count = folder["num_images"]
        rows.append([f"{run['backend']} {run['precision']}", count, f"{folder['process']['startup_s']:.2f}",
                     f"{folder['setup_s']:.2f}", f"{folder['first_pass_s']:.2f}", f"{folder['second_pass_s']:.2f}",
                     f"{folder['first_pass_s'] - folder['second_pass_s']:.2f}",
                     f"{folder['fresh_process_s']:.2f}", _load(folder)])
    if rows:
        sizes = ", ".join(f"{w}x{h}" for w, h in shapes["sizes_wh"])
        dense = "; random weights: the decoder sees dense maps" if shapes["weights"] == "random" else ""
        parts.append(f"A folder of mixed-size images through Predictor.predict in a fresh process, seconds (sizes in "
                     f"turn: {sizes}{dense}); the second pass meets no new shape\n" +
                     _table(["backend", "images", "start-up", "setup", "first pass", "second pass", "first - second",
                             "start to first pass done", "load avg"], rows))
    if shapes["skipped"]:
        parts.append("not measured: " + "; ".join(shapes["skipped"]))
    return parts


def latency_table(latency, env):
    rows = [[backend, v["input_size"], _ms(v["median_ms"]), _ms(v["forward_median_ms"]), v["people"],
             ", ".join(_ms(ms) for ms in v["runs_ms"]), _load(v)] for backend, v in latency["backends"].items()]
    text = (f"Predictor latency on {latency['image']}, each backend in a fresh process, median ms "
            f"({_short_machine(env)}; {latency['weights']} weights; "
            f"denormals flushed {_yes(latency['flush_denormal'])}; "
            f"OMP_WAIT_POLICY {latency['omp_wait_policy']}; onnxruntime spinning "
            f"{'on' if latency['onnx_spinning'] else 'off'})\n" +
            _table(["backend", "input", "per image", "network", "people", "runs", "load avg"], rows))
    if latency["skipped"]:
        text += "\nnot measured: " + "; ".join(latency["skipped"])
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
        faults = step.get("minor_faults")
        fault_text = f", minor page faults per step {round(statistics.median(faults))}" if faults else ""
        rows.append([f"training step batch {train['batch_size']}, {name.replace('_', ' ')}",
                     f"{_ms(step['step_ms'])} ms ({step['samples_per_second']:.2f} samples/s{fault_text})"])
    official = train["step"].get(OFFICIAL_STEP)
    if official:
        for name, step in train["step"].items():
            if name != OFFICIAL_STEP:
                rows.append([f"  {name.replace('_', ' ')} vs the official-style step",
                             f"x{official['step_ms'] / step['step_ms']:.2f} samples/s"])
    return "Training, each measurement in a fresh process (medians)\n" + _table(["what", "value"], rows)



def pipeline_table(pipeline):
    per_worker, loaders = pipeline["per_worker"], pipeline["loader_1_worker"]
    rows = [[f"{name} pipeline", f"{per_worker[name]['default_allocator']:.0f}",
             f"{per_worker[name]['freed_memory_kept']:.0f}"] for name in ("package", "loop")]
    package, loop = per_worker["package"], per_worker["loop"]
    lines = [f"Data pipeline, samples/s of one worker, best of {pipeline['rounds']} round(s) of "
             f"{pipeline['samples']} samples, each in a fresh process",
             _table(["pipeline", "default allocator", "freed memory kept (as in seed_worker)"], rows),
             f"speed-up as shipped (package, kept / loop, default): "
             f"{package['freed_memory_kept'] / loop['default_allocator']:.2f}x; same allocator: "
             f"{package['default_allocator'] / loop['default_allocator']:.2f}x default, "
             f"{package['freed_memory_kept'] / loop['freed_memory_kept']:.2f}x kept",
             f"through a DataLoader, 1 worker: package (compact batches) {loaders['package_compact']:.0f} samples/s, "
             f"loop (dense batches) {loaders['loop_dense']:.0f} samples/s, speed-up "
             f"{loaders['package_compact'] / loaders['loop_dense']:.2f}x"]
    return "\n".join(lines)


def accuracy_table(accuracy):
    """AP of the tiny fixture model per test setting, and each switch's change from the default path."""
    ap = accuracy["ap"]
    names = [name for name in next(iter(ap.values())) if name != "official"]
    rows = []
    for setting, row in ap.items():
        rows.append([setting, f"{row['official']:.4f}"] +
                    [f"{row[name]:.4f}" if name == "default" else f"{row[name]:.4f} ({row[name] - row['default']:+.4f})"
                     for name in names])
    text = ("AP effect of the switches that change results (tiny fixture model, COCO sample)\n" +
            _table(["setting", "official"] + names, rows))
    if accuracy.get("levers"):
        from .accuracy import lever_table

        text += "\n\nAP move of each precision lever against fp32\n" + lever_table(accuracy["levers"])
    if accuracy["skipped"]:
        text += "\nnot measured: " + "; ".join(accuracy["skipped"])
    return text


def targets_table(targets):
    rows = [[t["name"], t["target"], t["measured"], "-" if t["met"] is None else _yes(t["met"])] for t in targets]
    return "Targets (benchmarks/targets.json)\n" + _table(["target", "goal", "measured", "met"], rows)


def format_results(results):
    """All tables of a results dict, separated by blank lines; the machine line first."""
    env = results["environment"]
    parts = [machine_line(env) + f"; load average {env['load_average'][0]:.1f} at start, "
             f"{env.get('load_average_end', ['?'])[0]:.1f} at end"]
    parts[0] += ("\n'load avg' columns: the 1-minute load average at the start and end of each measurement "
                 "process, its own threads included")
    if env["load_average"][0] > 0.5 * env["cpus"]:
        parts[0] += (f"\nwarning: load average {env['load_average'][0]:.1f} at start on {env['cpus']} CPUs: other "
                     "processes compete with the measurements, which are then slower and noisier than on an "
                     "idle machine")
    if results.get("decoder"):
        parts += decoder_tables(results["decoder"])
    if results.get("network"):
        parts.append(network_table(results["network"], env))
    if results.get("shapes"):
        parts += shapes_tables(results["shapes"], env)
    if results.get("latency"):
        parts.append(latency_table(results["latency"], env))
    if results.get("train"):
        parts.append(train_table(results["train"]))
    if results.get("pipeline"):
        parts.append(pipeline_table(results["pipeline"]))
    if results.get("accuracy"):
        parts.append(accuracy_table(results["accuracy"]))
    if results.get("targets"):
        parts.append(targets_table(results["targets"]))
    return "\n\n".join(parts)
