"""Section `accuracy`: the AP effect of the speed switches that change results, on the fixtures' tiny model.

The tiny trained HigherHRNet of the reference material beside the repository (<shared>/tiny, with the AP the
official code gave it) is evaluated on the COCO sample for the three official test settings (a: flip, single
scale; b: no flip; c: flip, scales 0.5 / 1 / 2) with the default path (identical to the official results)
and with each switch on:
  TEST.AMP True          bfloat16 autocast on CPU, with a channels-last input (as InferenceSettings pairs them)
  TEST.BATCH_FLIP True   original and mirror image in one batch of two
  TEST.MATCHER scipy     SciPy's assignment solver instead of the exact munkres-1.1.4 port
The prediction and evaluation code is the code of tools/valid.py (`predict_dataset`, `evaluate`). Not a
timing: it runs in a fresh process only so that the benchmark's own process stays free of models.
"""
import json
import tempfile
from pathlib import Path

import torch

from higherhrnet.config import load_config
from higherhrnet.data.build import build_test_dataset
from higherhrnet.engine.inference import InferenceSettings, PosePipeline
from higherhrnet.engine.evaluation import evaluate, predict_dataset
from higherhrnet.models import build_model, load_model_weights

from .isolated import run_in_fresh_process

TEST_SETTINGS = {
    "a_flip_single_scale": [],
    "b_noflip_single_scale": ["TEST.FLIP_TEST", "False"],
    "c_flip_multi_scale": ["TEST.SCALE_FACTOR", "[0.5, 1.0, 2.0]"],
}
# name -> config overrides
SWITCHES = {
    "default": [],
    "TEST.AMP True": ["TEST.AMP", "True"],
    "TEST.BATCH_FLIP True": ["TEST.BATCH_FLIP", "True"],
    "TEST.MATCHER scipy": ["TEST.MATCHER", "scipy"],
}


def tiny_model_ap(shared_dir, setting_opts, switch_opts=(), device=torch.device("cpu")):
    """COCO AP (float) of the tiny fixture model on the COCO sample with the given overrides."""
    shared_dir = Path(shared_dir)
    cfg = load_config(shared_dir / "tiny" / "tiny_coco.yaml",
                      ["DATASET.ROOT", str(shared_dir / "data" / "coco_sample"), *setting_opts, *switch_opts])
    model = load_model_weights(build_model(cfg, is_train=False), shared_dir / "tiny" / "tiny_coco.pth")
    model.to(device).eval()
    settings = InferenceSettings.from_config(cfg, device)
    dataset = build_test_dataset(cfg)
    local = predict_dataset(PosePipeline(model, settings, device), dataset, num_joints=settings.num_joints,
                            show_progress=False)
    predictions = [local[index] for index in sorted(local)]
    with tempfile.TemporaryDirectory() as folder:
        _, ap, _ = evaluate(predictions, dataset_family="coco", annotation_file=dataset.annotation_file,
                            split=cfg.DATASET.TEST, final_output_dir=Path(folder), drop_last_joint=False,
                            arch_name=cfg.MODEL.NAME, verbose=False)
    return float(ap)


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


def measure_ap_effects(shared_dir, settings, switches):
    """{'ap': switch_ap_effects(...)} (the result of the section's fresh process)."""
    return {"ap": switch_ap_effects(shared_dir, settings, switches)}


def run_accuracy_section(options, shared_dir, bf16, progress):
    """AP of the tiny fixture model per test setting: official, default path, and each switch on.

    TEST.AMP (bfloat16) only when bfloat16 is timed (elsewhere it is emulated, and slow). quick: setting a
    only, with one switch.
    """
    progress("accuracy: switches on the tiny model")
    switches = [name for name in SWITCHES if bf16 or name != "TEST.AMP True"]
    settings = list(TEST_SETTINGS)
    if options.quick:
        settings, switches = settings[:1], switches[:2]
    results = run_in_fresh_process("accuracy", dict(shared_dir=str(shared_dir), settings=settings,
                                                    switches=switches), options.threads)
    results["skipped"] = [] if bf16 else ["TEST.AMP True: bfloat16 is not native on this CPU (--bf16 on measures it)"]
    return results
