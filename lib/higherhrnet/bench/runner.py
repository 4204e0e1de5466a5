"""The benchmark of tools/benchmark.py: options -> timings of every stage -> one JSON-able dict.

Sections (each can be run alone with `only`):
  decoder  per sample image: read, resize, forward (normal, flip), then the decoder on the outputs of a
           "perfect" network built from the image's ground truth at the test geometry (maps.py): the
           aggregation (fast: lazy maps; reference: materialised, as officially), NMS + top-k,
           matching, adjust, refine (fast path and the official-loop reference path on the same
           values), back-projection, and the COCO evaluation of the sample; crowded synthetic maps of
           10 / 20 / 30 persons through both decoder paths.
  network  the network part of a flip test in fp32 / bf16, channels-last, batched flip; end to end
           (`PosePipeline(image)`) in fp32 and bf16.
  train    data pipeline samples/s per worker (dataset[i] in one process; DataLoaders of 1 and 2 workers
           with compact batches, and 1 worker with dense ones), the loss for 30 persons x J
           joints (and the official-style loss), training steps in fp32 and bf16 with and without data loading.
  accuracy the AP effect of the switches that change results (TEST.AMP, TEST.BATCH_FLIP, TEST.MATCHER scipy)
           on the fixtures' tiny trained model, next to the official AP (accuracy.py).
"""
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from ..codec.benchmark import STAGES as DECODER_STAGES
from ..codec.benchmark import median_time_ms, time_decoders
from ..config import load_config
from ..data.build import build_train_dataset, build_train_loader
from ..data.sources import load_coco_api
from ..engine.inference import InferenceSettings, PosePipeline
from ..evaluation import evaluate_predictions
from ..models import build_model, load_model_weights
from . import accuracy, maps, network, training

SECTIONS = ("decoder", "network", "train", "accuracy")
DEFAULT_CONFIG = "experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml"
IMAGE_STAGES = ("read", "resize", "forward", "forward_flip", "aggregation") + DECODER_STAGES + ("evaluation",)
# Reference figures of the official code on this machine (issue 6), for the targets below.
OFFICIAL = {"decoder_sample_ms": 39 + 70 + 0.8 + 0.5 + 368, "crowd30_parse_ms": 3200, "data_samples_per_s": 174,
            "loss_ms": 42}


def default_shared_dir():
    """The reference fixtures beside the repository: $HIGHERHRNET_SHARED, else ../shared."""
    return os.environ.get("HIGHERHRNET_SHARED", str(Path(__file__).resolve().parents[3].parent / "shared"))


def default_data_root():
    """The COCO sample beside the repository (<shared>/data/coco_sample)."""
    return str(Path(default_shared_dir()) / "data" / "coco_sample")


@dataclasses.dataclass
class BenchmarkOptions:
    cfg: str = DEFAULT_CONFIG
    opts: Sequence[str] = ()
    data_root: Optional[str] = None     # COCO layout (annotations + images/val2017); default: the sample
    images: Optional[Sequence[str]] = None  # image files; default: every image of the data root
    weights: Optional[str] = None       # TEST.MODEL_FILE; default: random initialisation (seeded)
    only: Sequence[str] = SECTIONS
    crowd: Sequence[int] = (10, 20, 30)
    crowd_size: Tuple[int, int] = (768, 512)  # (W, H) of the crowded maps
    repeats: int = 5
    warmup: int = 1
    reference_repeats: int = 1          # the reference decoder is slow: fewer repeats
    threads: int = 2
    variants: Optional[Sequence[str]] = None  # network variants (default: all, bf16 ones only with bf16 on)
    bf16: Optional[bool] = None         # time bfloat16 too; None: on CUDA or a CPU with native bfloat16
    data_samples: int = 200
    train_steps: int = 3
    train_batch: int = 2                # TRAIN.IMAGES_PER_GPU of the timed training steps
    quick: bool = False

    @classmethod
    def quick_options(cls, **changes):
        """Tiny sizes for a smoke test: one image, one small crowd, one repeat, two training steps."""
        values = dict(crowd=(3,), crowd_size=(96, 64), repeats=1, warmup=0, reference_repeats=1,
                      variants=("fp32", "bf16"), data_samples=4, train_steps=1, train_batch=1, quick=True,
                      bf16=True)
        values.update(changes)
        return cls(**values)


def _with_bf16(options, device):
    """Whether bfloat16 is timed: options.bf16, or by default on CUDA or a CPU with native bfloat16."""
    if options.bf16 is not None:
        return options.bf16
    return device.type == "cuda" or network.cpu_has_native_bf16()


def _environment(options):
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version(),
            "load_average": list(os.getloadavg()), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "repeats": options.repeats, "warmup": options.warmup, "statistic": "median after warm-up"}


def _progress(message):
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _load(options):
    opts = list(options.opts)
    if options.weights:
        opts += ["TEST.MODEL_FILE", options.weights]
    cfg = load_config(options.cfg, opts)
    torch.manual_seed(0)
    model = build_model(cfg, is_train=False)
    if options.weights:
        load_model_weights(model, options.weights)
    model.eval()
    return cfg, model


def _sample_images(options, data_root):
    """[(path, annotations or None, image_id or None)] of the images to time."""
    coco = load_coco_api(os.path.join(data_root, "annotations", "person_keypoints_val2017.json"))
    by_name = {info["file_name"]: image_id for image_id, info in coco.imgs.items()}
    if options.images:
        paths = list(options.images)
    else:
        paths = [os.path.join(data_root, "images", "val2017", coco.imgs[image_id]["file_name"])
                 for image_id in coco.imgs]
        if options.quick:
            paths = paths[:1]
    images = []
    for path in paths:
        image_id = by_name.get(os.path.basename(path))
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image_id)) if image_id is not None else None
        images.append((path, annotations, image_id))
    return images


def _decoder_options(settings):
    decoder = settings.decoder
    return dict(max_people=decoder["max_people"], nms_kernel=decoder["nms_kernel"],
                nms_padding=decoder["nms_padding"], detection_threshold=decoder["detection_threshold"])


def _time_both_decoders(case, options, settings, make_maps=None):
    """time_decoders' report for both paths (the slow reference with fewer repeats); outputs compared.

    make_maps: optional {path: function() -> (det, tags)} building each path's decoder inputs per run
    (the aggregation, timed); default: both paths read the case's det and tags.
    """
    geometry = dict(center=case["center"], scale=case["scale"], **_decoder_options(settings))
    report = time_decoders(case["det"], case["tags"], repeats=options.repeats, warmup=options.warmup,
                           paths=("fast",), make_maps=make_maps, **geometry)
    reference = time_decoders(case["det"], case["tags"], repeats=options.reference_repeats, warmup=0,
                              paths=("reference",), make_maps=make_maps, **geometry)
    report["reference"] = reference["reference"]
    (fast, fast_scores, _), (ref, ref_scores, _) = report["outputs"]["fast"], reference["outputs"]["reference"]
    report["identical"] = bool(np.array_equal(fast, ref) and np.array_equal(fast_scores, ref_scores))
    return report


def _ground_truth_aggregations(case, model, settings, device):
    """The case with its aggregated ground-truth maps, and {path: aggregation function} for time_decoders.

    The aggregation runs on the stage outputs of a "perfect" network built from the image's ground truth
    (both flip passes). The fast path aggregates into lazy maps (PosePipeline.aggregate(lazy_maps=True),
    computed where the decoder reads them), the reference path materialises them as the official code
    does; both give the same values.
    """
    width, height = case["heatmap_size"]
    outputs, outputs_flipped = maps.perfect_stage_outputs(case["joints"], (width, height), settings.flip_index,
                                                          amplitude_step=case["amplitude_step"])
    pipeline = PosePipeline(model, settings, device)
    per_scale = [(1.0, outputs, outputs_flipped if settings.flip_test else None)]
    make_maps = {"fast": lambda: pipeline.aggregate(per_scale, (width, height), lazy_maps=True),
                 "reference": lambda: pipeline.aggregate(per_scale, (width, height))}
    det, tags = make_maps["reference"]()
    return dict(case, det=det, tags=tags), make_maps


def run_decoder_section(options, cfg, model, settings, device, data_root):
    """Per-image stage timings, the sample's evaluation, and the crowded cases."""
    results = {"images": [], "crowd": []}
    predictions = []
    for path, annotations, image_id in _sample_images(options, data_root):
        _progress(f"decoder: {os.path.basename(path)}")
        stages, context = network.time_image_stages(model, settings, device, path, options.repeats, options.warmup)
        entry = {"file": os.path.basename(path), "input_size_hw": list(context["input_size_hw"])}
        make_maps = None
        if annotations is not None:
            case = maps.image_case(context["image"].shape, annotations, settings.input_size)
            entry["maps"] = "ground truth"
            entry["num_persons_gt"] = len(case["joints"])
            case, make_maps = _ground_truth_aggregations(case, model, settings, device)
        else:
            case = dict(det=context["det"], tags=context["tags"], center=context["prepared"].center,
                        scale=context["prepared"].scale)
            entry["maps"] = "network"
        decoders = _time_both_decoders(case, options, settings, make_maps)
        entry["identical"] = decoders["identical"]
        entry["num_persons_found"] = decoders["num_persons"]
        for path in ("fast", "reference"):
            aggregation = decoders[path]["aggregation"] if make_maps else stages["aggregation"]
            entry[path] = {**stages, "aggregation": aggregation,
                           **{stage: decoders[path][stage] for stage in DECODER_STAGES}}
        entry["decode_network_maps"] = entry["fast"].pop("decode_network_maps")
        entry["reference"].pop("decode_network_maps")
        results["images"].append(entry)
        if image_id is not None:
            refined, scores, final = decoders["outputs"]["fast"]
            predictions.append((image_id, final, [float(score) for score in scores]))

    if predictions:
        annotation_file = os.path.join(data_root, "annotations", "person_keypoints_val2017.json")
        with tempfile.TemporaryDirectory() as folder:
            def evaluate():
                return evaluate_predictions("coco", annotation_file, "val2017", Path(folder),
                                            [p[0] for p in predictions], [p[1] for p in predictions],
                                            [p[2] for p in predictions], verbose=False)
            eval_ms, (_, ap) = median_time_ms(evaluate, options.repeats, options.warmup)
        results["evaluation"] = {"ms": eval_ms, "num_images": len(predictions), "ap_of_ground_truth_maps": ap}
        for entry in results["images"]:
            entry["fast"]["evaluation"] = entry["reference"]["evaluation"] = eval_ms / len(predictions)
    for entry in results["images"]:
        for path_name in ("fast", "reference"):
            entry[path_name].setdefault("evaluation", 0.0)
            entry[path_name]["total"] = sum(entry[path_name][stage] for stage in IMAGE_STAGES)
            entry[path_name]["decoder"] = entry[path_name]["aggregation"] + sum(
                entry[path_name][stage] for stage in DECODER_STAGES)

    for num_persons in options.crowd:
        _progress(f"decoder: crowd of {num_persons}")
        case = maps.crowd_case(num_persons, tuple(options.crowd_size), seed=num_persons)
        decoders = _time_both_decoders(case, options, settings)
        results["crowd"].append({"num_persons": num_persons, "size_wh": list(options.crowd_size),
                                 "num_persons_found": decoders["num_persons"], "num_missing": decoders["num_missing"],
                                 "identical": decoders["identical"], "fast": decoders["fast"],
                                 "reference": decoders["reference"]})
    return results


def run_network_section(options, cfg, model, settings, device, data_root):
    """Network variants and end to end on the first image.

    With random weights the network's maps are unlike trained ones (many more pixels above the detection
    threshold), so each end-to-end entry also gets 'total_gt_decode': its total with the decode part
    replaced by the decode time of the image's ground-truth maps (when the image is annotated).
    """
    path, annotations, _ = _sample_images(options, data_root)[0]
    _, context = network.time_image_stages(model, settings, device, path, 1, 0)
    network_input = context["prepared"].inputs[0][1]
    bf16 = _with_bf16(options, device)
    names = options.variants or [name for name in network.NETWORK_VARIANTS if bf16 or not name.startswith("bf16")]
    _progress("network: variants")
    variants = network.time_network_variants(model, settings, device, network_input, options.repeats,
                                             options.warmup, names)
    _progress("network: end to end")
    precisions = (("fp32", False), ("bf16", True)) if bf16 else (("fp32", False),)
    end_to_end = {name: network.time_end_to_end(model, settings, device, context["image"], options.repeats,
                                                options.warmup, amp=amp)
                  for name, amp in precisions}
    if annotations is not None:
        case = maps.image_case(context["image"].shape, annotations, settings.input_size)
        pipeline = PosePipeline(model, settings, device)
        gt_decode, _ = median_time_ms(lambda: pipeline.decode(case["det"], case["tags"], case["center"],
                                                              case["scale"]), options.repeats, options.warmup)
        for entry in end_to_end.values():
            entry["decode_gt_maps"] = gt_decode
            entry["total_gt_decode"] = entry["total"] - entry["decode"] + gt_decode
    return {"file": os.path.basename(path), "input_size_hw": list(context["input_size_hw"]),
            "variants": variants, "end_to_end": end_to_end, "bf16_timed": bf16}


def run_train_section(options, cfg, data_root):
    opts = list(options.opts) + ["DATASET.ROOT", data_root, "DATASET.TRAIN", "val2017", "WORKERS", 0,
                                 "PIN_MEMORY", False, "TRAIN.IMAGES_PER_GPU", options.train_batch]
    train_cfg = load_config(options.cfg, opts)
    dataset = build_train_dataset(train_cfg)
    _progress("train: data pipeline, loss")
    results = {"batch_size": int(train_cfg.TRAIN.IMAGES_PER_GPU)}
    results["data_pipeline"] = {
        "workers_0_samples_per_s": training.data_pipeline_rate(dataset, options.data_samples),
    }
    for workers in (1, 2):
        total, per_worker = training.data_loader_rate(dataset, options.data_samples, workers=workers, compact=True)
        results["data_pipeline"].update({f"workers_{workers}_samples_per_s": total,
                                         f"workers_{workers}_per_worker": per_worker})
    results["data_pipeline"]["workers_1_dense_samples_per_s"] = training.data_loader_rate(
        dataset, options.data_samples, workers=1, compact=False)[0]
    results["loss"] = training.time_loss(train_cfg, max(options.repeats, 5), options.warmup or 1,
                                         batch_size=2, num_persons=30)
    loader = build_train_loader(train_cfg, dataset, rank=0, world_size=1, compact=True)
    steps = {}
    for bf16 in ((False, True) if _with_bf16(options, torch.device("cpu")) else (False,)):
        for with_data in (True, False):
            name = f"{'bf16' if bf16 else 'fp32'}_{'with' if with_data else 'without'}_data"
            _progress(f"train: step {name}")
            steps[name] = training.time_training_steps(train_cfg, loader, options.train_steps, options.warmup,
                                                       bf16=bf16, with_data=with_data)
    results["step"] = steps
    return results


def run_accuracy_section(options):
    """AP of the tiny fixture model per test setting: official, default path, and each switch on."""
    _progress("accuracy: switches on the tiny model")
    if options.quick:
        return accuracy.switch_ap_effects(default_shared_dir(), settings=["a_flip_single_scale"],
                                          switches=["default", "TEST.AMP True"])
    return accuracy.switch_ap_effects(default_shared_dir())


def _mean(values):
    return statistics.fmean(values) if values else float("nan")


def evaluate_targets(results):
    """The issue's targets with the measured numbers: [{name, target, measured, met}]."""
    targets = []

    def add(name, target, measured, met):
        targets.append({"name": name, "target": target, "measured": measured, "met": bool(met)})

    decoder = results.get("decoder", {})
    if decoder.get("images"):
        fast = _mean([entry["fast"]["decoder"] for entry in decoder["images"]])
        reference = _mean([entry["reference"]["decoder"] for entry in decoder["images"]])
        add("decoder per sample image (aggregation .. back-projection)", "<= 25 ms", f"{fast:.1f} ms", fast <= 25)
        add("  same, speed-up over the reference decoder in this run", f">= {OFFICIAL['decoder_sample_ms'] / 25:.0f}x",
            f"{reference / fast:.1f}x", reference / fast >= OFFICIAL["decoder_sample_ms"] / 25)
        identical = all(entry["identical"] for entry in decoder["images"])
        add("fast decoder == reference (sample images)", "identical", str(identical), identical)
    for entry in decoder.get("crowd", []):
        if entry["num_persons"] == 30:
            fast = entry["fast"]["total"]
            add("decoder, 30-person crowd (top-k .. back-projection)", "<= 160 ms", f"{fast:.1f} ms", fast <= 160)
            ratio = entry["reference"]["total"] / fast
            add("  same, speed-up over the reference decoder in this run",
                f">= {OFFICIAL['crowd30_parse_ms'] / 160:.0f}x", f"{ratio:.1f}x",
                ratio >= OFFICIAL["crowd30_parse_ms"] / 160)
    if decoder.get("crowd"):
        identical = all(entry["identical"] for entry in decoder["crowd"])
        add("fast decoder == reference (crowds)", "identical", str(identical), identical)
    net = results.get("network")
    if net:
        fp32, bf16 = net["end_to_end"]["fp32"], net["end_to_end"].get("bf16")
        for key, label in (("total", "random-weight maps"), ("total_gt_decode", "ground-truth maps decoded")):
            if key not in fp32:
                continue
            overhead = fp32[key] / fp32["forward"] - 1
            add(f"fp32 end to end vs its two forwards ({label})", "<= +10 %", f"+{100 * overhead:.1f} %",
                overhead <= 0.10)
            if bf16 is None:
                add(f"bf16 end to end vs fp32 ({label})", ">= 2x faster", "not timed (no native bf16)", False)
                continue
            speedup = fp32[key] / bf16[key]
            add(f"bf16 end to end vs fp32 ({label})", ">= 2x faster", f"{speedup:.2f}x", speedup >= 2)
    train = results.get("train")
    if train:
        loss = train["loss"]["forward"]
        add("loss, 30 persons x 17 joints, batch 2", "<= 2 ms", f"{loss:.2f} ms", loss <= 2)
        if "reference_forward" in train["loss"]:
            ratio = train["loss"]["reference_forward"] / loss
            goal = OFFICIAL["loss_ms"] / 2
            add("  same, speed-up over the official-style loss in this run", f">= {goal:.0f}x", f"{ratio:.1f}x",
                ratio >= goal)
        rate = train["data_pipeline"]["workers_0_samples_per_s"]
        goal = 2 * OFFICIAL["data_samples_per_s"]
        add("data pipeline per worker", f">= {goal} samples/s", f"{rate:.0f} samples/s", rate >= goal)
    for setting, row in results.get("accuracy", {}).items():
        same = abs(row["default"] - row["official"]) <= 1e-9
        add(f"default path AP == official AP (tiny model, {setting})", "equal",
            f"{row['default']:.4f} vs {row['official']:.4f}", same)
    return targets


def run_benchmark(options):
    """Run the selected sections; returns the results dict (see tools/benchmark.py for the layout)."""
    unknown = set(options.only) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s) {sorted(unknown)}; valid: {', '.join(SECTIONS)}")
    torch.set_num_threads(options.threads)
    data_root = options.data_root or default_data_root()
    results = {"environment": _environment(options), "config": options.cfg}
    device = torch.device("cpu")
    cfg = model = settings = None
    if "decoder" in options.only or "network" in options.only:
        cfg, model = _load(options)
        settings = InferenceSettings.from_config(cfg, device)
        if len(settings.scale_factors) != 1:
            raise ValueError("the benchmark times single-scale testing: use TEST.SCALE_FACTOR '[1.0]'")
    if "decoder" in options.only:
        results["decoder"] = run_decoder_section(options, cfg, model, settings, device, data_root)
    if "network" in options.only:
        results["network"] = run_network_section(options, cfg, model, settings, device, data_root)
    if "train" in options.only:
        results["train"] = run_train_section(options, cfg, data_root)
    if "accuracy" in options.only:
        results["accuracy"] = run_accuracy_section(options)
    results["targets"] = evaluate_targets(results)
    results["environment"]["load_average_end"] = list(os.getloadavg())
    return results
