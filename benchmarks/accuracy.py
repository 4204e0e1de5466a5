"""Section `accuracy`: the AP effect of the speed switches and precision levers that change results.

1. Switches, on the tiny trained HigherHRNet of the reference material beside the repository (<shared>/tiny,
   with the AP the official code gave it), evaluated on the COCO sample for the three official test settings
   (a: flip, single scale; b: no flip; c: flip, scales 0.5 / 1 / 2) with the default path (identical to the
   official results) and with each switch on:
     TEST.BATCH_FLIP True   original and mirror image in one batch of two
     TEST.MATCHER scipy     SciPy's assignment solver instead of the exact munkres-1.1.4 port
2. Precision levers of the fast mode (engine.fast_network), each against float32, on the tiny model (settings
   a/b/c) and on the demo model (models/demo, experiments/synthetic/higher_hrnet/w16_192_demo.yaml) on the
   synthetic validation split (generated here with seed 0, as tools/make_synthetic.py makes it):
     fp32, BN folded                   BatchNorm folded into the convolutions, still float32
     bf16 autocast                     torch.autocast(bfloat16) on the unmodified network
     + channels-last                   the same with a channels-last input (TEST.AMP before the fast mode)
     + BN folded                       and BatchNorm folded
     + weights pre-cast (TEST.AMP)     weights cast once to bfloat16, no autocast: the fast mode of TEST.AMP
     TEST.AMP, contiguous              the fast mode without channels-last
The prediction and evaluation code is the code of tools/valid.py (`predict_dataset`, `evaluate`). Not a
timing: it runs in a fresh process only so that the benchmark's own process stays free of models.
"""
import json
import tempfile
from pathlib import Path

import torch

from higherhrnet.config import load_config
from higherhrnet.data.build import build_test_dataset
from higherhrnet.engine.fast_network import FastNetwork
from higherhrnet.engine.inference import InferenceSettings, PosePipeline
from higherhrnet.engine.evaluation import evaluate, predict_dataset
from higherhrnet.models import build_model, load_model_weights

from .isolated import run_in_fresh_process
from .options import REPO

TEST_SETTINGS = {
    "a_flip_single_scale": [],
    "b_noflip_single_scale": ["TEST.FLIP_TEST", "False"],
    "c_flip_multi_scale": ["TEST.SCALE_FACTOR", "[0.5, 1.0, 2.0]"],
}
# name -> config overrides
SWITCHES = {
    "default": [],
    "TEST.BATCH_FLIP True": ["TEST.BATCH_FLIP", "True"],
    "TEST.MATCHER scipy": ["TEST.MATCHER", "scipy"],
}


# name -> (config overrides, FastNetwork keyword arguments or None = the network as the pipeline builds it)
LEVERS = {
    "fp32": ([], None),
    "fp32, BN folded": ([], dict(dtype=torch.float32, fold_batch_norm=True, cast_weights=True, channels_last=False)),
    "bf16 autocast": ([], dict(fold_batch_norm=False, cast_weights=False, channels_last=False)),
    "+ channels-last": ([], dict(fold_batch_norm=False, cast_weights=False, channels_last=True)),
    "+ BN folded": ([], dict(fold_batch_norm=True, cast_weights=False, channels_last=True)),
    "+ weights pre-cast (TEST.AMP)": (["TEST.AMP", "True"], None),
    "TEST.AMP, contiguous": ([], dict(fold_batch_norm=True, cast_weights=True, channels_last=False)),
}
DEMO_CONFIG = REPO / "experiments" / "synthetic" / "higher_hrnet" / "w16_192_demo.yaml"
DEMO_WEIGHTS = REPO / "models" / "demo" / "w16_192_demo.pth"
DEMO_IMAGES = 200  # the whole synthetic validation split of models/demo/README.md


def model_ap(cfg_file, weights, opts=(), fast_network=None, device=torch.device("cpu")):
    """COCO AP (float) of the model of `cfg_file` + `weights` on DATASET.TEST with the overrides `opts`.

    fast_network: None runs the network as PosePipeline builds it (TEST.AMP in `opts` gives the fast mode);
    else FastNetwork keyword arguments (a precision lever) for a network the pipeline then runs as given.
    """
    cfg = load_config(cfg_file, list(opts))
    model = load_model_weights(build_model(cfg, is_train=False), weights)
    model.to(device).eval()
    settings = InferenceSettings.from_config(cfg, device)
    network = model if fast_network is None else FastNetwork(model, device, **fast_network)
    dataset = build_test_dataset(cfg)
    local = predict_dataset(PosePipeline(network, settings, device), dataset, num_joints=settings.num_joints,
                            show_progress=False)
    predictions = [local[index] for index in sorted(local)]
    with tempfile.TemporaryDirectory() as folder:
        _, ap, _ = evaluate(predictions, dataset_family="coco", annotation_file=dataset.annotation_file,
                            split=cfg.DATASET.TEST, final_output_dir=Path(folder), drop_last_joint=False,
                            arch_name=cfg.MODEL.NAME, verbose=False)
    return float(ap)


def tiny_model_ap(shared_dir, setting_opts, switch_opts=(), device=torch.device("cpu"), fast_network=None):
    """COCO AP (float) of the tiny fixture model on the COCO sample with the given overrides."""
    shared_dir = Path(shared_dir)
    return model_ap(shared_dir / "tiny" / "tiny_coco.yaml", shared_dir / "tiny" / "tiny_coco.pth",
                    ["DATASET.ROOT", str(shared_dir / "data" / "coco_sample"), *setting_opts, *switch_opts],
                    fast_network, device)


def lever_ap_effects(shared_dir, settings=None, levers=None, demo_images=DEMO_IMAGES):
    """{model/setting: {lever: AP}} for the tiny model's settings and (demo_images > 0) the demo model on the
    first `demo_images` images of the synthetic validation split (seed 0), generated in a temporary folder."""
    from higherhrnet.synthetic.dataset_writer import generate_dataset

    results = {}
    for setting in settings or TEST_SETTINGS:
        results[f"tiny {setting}"] = {name: tiny_model_ap(shared_dir, TEST_SETTINGS[setting], LEVERS[name][0],
                                                          fast_network=LEVERS[name][1])
                                      for name in levers or LEVERS}
    if demo_images > 0:
        with tempfile.TemporaryDirectory(prefix="synthetic_val_") as root:
            generate_dataset(root, seed=0, num_train=0, num_val=int(demo_images), workers=1)
            results[f"demo, synthetic val ({demo_images} images)"] = {
                name: model_ap(DEMO_CONFIG, DEMO_WEIGHTS, ["DATASET.ROOT", root, *LEVERS[name][0]], LEVERS[name][1])
                for name in levers or LEVERS}
    return results


def switch_ap_effects(shared_dir, settings=None, switches=None):
    """{setting: {'official': AP of the fixture, switch: AP, ...}} for the chosen settings and switches."""
    shared_dir = Path(shared_dir)
    results = {}
    for setting in settings or TEST_SETTINGS:
        official = json.loads((shared_dir / "tiny" / "pipeline" / setting / "ap.json").read_text())["AP"]
        row = {"official": float(official)}
        for name in switches or SWITCHES:
            row[name] = tiny_model_ap(shared_dir, TEST_SETTINGS[setting], SWITCHES[name])
        results[setting] = row
    return results


def measure_ap_effects(shared_dir, settings, switches, levers=(), demo_images=0):
    """{'ap': switch_ap_effects(...), 'levers': lever_ap_effects(...) or {}} (the section's fresh process)."""
    results = {"ap": switch_ap_effects(shared_dir, settings, switches), "levers": {}}
    if levers:
        results["levers"] = lever_ap_effects(shared_dir, settings, levers, demo_images)
    return results


def run_accuracy_section(options, shared_dir, bf16, progress):
    """AP of the tiny fixture model per test setting: official, default path, and each switch on; with bf16,
    the AP of each precision lever on the tiny model and the demo model.

    The levers only when bfloat16 is timed (elsewhere it is emulated, and slow; `--bf16 on` measures them
    anyway). quick: setting a only, with one switch, and the levers without the demo model.
    """
    progress("accuracy: switches" + (" and precision levers" if bf16 else "") + " on the tiny model")
    switches, settings = list(SWITCHES), list(TEST_SETTINGS)
    levers = list(LEVERS) if bf16 else []
    demo_images = DEMO_IMAGES
    if options.quick:
        settings, switches, demo_images = settings[:1], switches[:2], 0
    results = run_in_fresh_process("accuracy", dict(shared_dir=str(shared_dir), settings=settings,
                                                    switches=switches, levers=levers, demo_images=demo_images),
                                   options.threads)
    results["skipped"] = [] if bf16 else ["precision levers (bfloat16): bfloat16 is not native on this CPU "
                                          "(--bf16 on measures them)"]
    return results


def lever_table(levers):
    """Markdown-style table: one row per model/setting, its fp32 AP, and each lever's AP move against fp32."""
    names = [name for name in next(iter(levers.values())) if name != "fp32"]
    header = "| model, setting | fp32 AP | " + " | ".join(names) + " |"
    lines = [header, "|" + "---|" * (len(names) + 2)]
    for model, row in levers.items():
        lines.append(f"| {model} | {row['fp32']:.4f} | " +
                     " | ".join(f"{row[name] - row['fp32']:+.4f}" for name in names) + " |")
    return "\n".join(lines)
