"""Smoke run of tools/benchmark.py --quick on the tiny model: every stage is timed and written to JSON."""
import json
import subprocess
import sys

from higherhrnet.bench.runner import IMAGE_STAGES, evaluate_targets
from higherhrnet.codec.benchmark import STAGES as DECODER_STAGES


def test_quick_benchmark_writes_every_stage(shared, repo, tmp_path):
    out = tmp_path / "benchmark.json"
    command = [sys.executable, str(repo / "tools" / "benchmark.py"), "--quick",
               "--cfg", str(shared / "tiny" / "tiny_coco.yaml"),
               "--data-root", str(shared / "data" / "coco_sample"), "--out", str(out)]
    completed = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Targets (issue 6)" in completed.stdout and "NMS + top-k" in completed.stdout
    results = json.loads(out.read_text())

    image = results["decoder"]["images"][0]
    for path in ("fast", "reference"):
        assert set(IMAGE_STAGES) <= set(image[path]), path
        assert all(image[path][stage] >= 0 for stage in IMAGE_STAGES)
    assert image["maps"] == "ground truth" and image["identical"] is True
    assert results["decoder"]["evaluation"]["num_images"] == 1
    crowd = results["decoder"]["crowd"][0]
    assert crowd["num_persons"] == 3 and crowd["identical"] is True
    assert set(DECODER_STAGES) <= set(crowd["fast"]) and set(DECODER_STAGES) <= set(crowd["reference"])

    network = results["network"]
    assert set(network["variants"]) == {"fp32", "bf16"}
    assert set(network["end_to_end"]) == {"fp32", "bf16"}
    assert all(v["total"] >= v["forward"] > 0 for v in network["end_to_end"].values())

    train = results["train"]
    assert set(train["data_pipeline"]) == {"workers_0_samples_per_s", "workers_1_samples_per_s", "workers_1_per_worker",
                                           "workers_1_dense_samples_per_s", "workers_2_samples_per_s",
                                           "workers_2_per_worker"}
    assert all(rate > 0 for rate in train["data_pipeline"].values())
    assert set(train["loss"]) == {"forward", "forward_backward", "reference_forward", "reference_forward_backward"}
    assert all(ms > 0 for ms in train["loss"].values())
    assert set(train["step"]) == {"fp32_with_data", "fp32_without_data", "bf16_with_data", "bf16_without_data"}
    assert all(step["step_ms"] > 0 for step in train["step"].values())
    accuracy = results["accuracy"]["a_flip_single_scale"]
    assert accuracy["default"] == accuracy["official"]  # the default path reproduces the official AP
    assert 0 <= accuracy["TEST.AMP True"] <= 1
    assert "AP effect of the switches" in completed.stdout
    assert {target["name"] for target in results["targets"]} == {target["name"]
                                                                   for target in evaluate_targets(results)}


def test_unknown_section_is_a_one_line_error(repo):
    completed = subprocess.run([sys.executable, str(repo / "tools" / "benchmark.py"), "--only", "gpu"],
                               cwd=repo, capture_output=True, text=True, timeout=120)
    assert completed.returncode != 0 and "invalid choice: 'gpu'" in completed.stderr
