"""Smoke run of tools/benchmark.py --quick on the tiny model: every section measured, in fresh processes, to JSON.

No timing assertions: the numbers depend on the machine and its load; only their presence and sign are checked.
"""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # subprocess runs of tools/benchmark.py

SECTIONS = ["decoder", "network", "shapes", "latency", "train", "pipeline", "accuracy"]
IMAGE_STAGES = ["read", "resize", "forward", "forward_flip", "aggregation", "top_k", "match", "adjust", "refine",
                "back_projection", "evaluation"]
DECODER_STAGES = ["top_k", "match", "adjust", "refine", "back_projection"]
MACHINE_FACTS = {"cpu_model": str, "cpu_capability": str, "amx": bool, "avx512_bf16": bool, "bf16_native": bool,
                 "bf16_timed": bool, "threads": int}


def _numbers(tree):
    """Every int / float leaf of a results subtree (booleans excluded)."""
    if isinstance(tree, dict):
        return [value for item in tree.values() for value in _numbers(item)]
    if isinstance(tree, list):
        return [value for item in tree for value in _numbers(item)]
    return [tree] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


@pytest.fixture(scope="module")
def quick_run(shared, repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark") / "benchmark.json"
    command = [sys.executable, str(repo / "tools" / "benchmark.py"), "--quick", "--threads", "1",
               "--cfg", str(shared / "tiny" / "tiny_coco.yaml"),
               "--data-root", str(shared / "data" / "coco_sample"), "--out", str(out)]
    completed = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=1500)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout, json.loads(out.read_text())


def test_quick_run_states_the_machine(quick_run):
    stdout, results = quick_run
    environment = results["environment"]
    for fact, kind in MACHINE_FACTS.items():
        assert isinstance(environment[fact], kind), fact
    assert environment["threads"] == 1
    assert environment["bf16_timed"] == environment["bf16_native"]  # --bf16 auto
    first_line = stdout.splitlines()[0]
    for word in ("Machine:", environment["cpu_capability"], "AMX", "AVX512-BF16", "1 threads"):
        assert word in first_line


def test_quick_run_has_every_section_in_fresh_processes(quick_run):
    _, results = quick_run
    assert results["sections"] == SECTIONS
    assert all(results[section] for section in SECTIONS)
    processes = []

    def collect(tree):
        if isinstance(tree, dict):
            if "process" in tree:
                processes.append(tree["process"])
            for key, value in tree.items():
                if key != "process":
                    collect(value)
        elif isinstance(tree, list):
            for item in tree:
                collect(item)

    collect({section: results[section] for section in SECTIONS})
    pids = [process["pid"] for process in processes]
    assert len(pids) >= 10 and len(set(pids)) == len(pids)  # one process per measurement
    assert all(process["torch_threads"] == 1 for process in processes)


def test_quick_run_numbers(quick_run):
    _, results = quick_run
    decoder = results["decoder"]
    image = decoder["images"][0]
    for path in ("fast", "reference"):
        assert set(IMAGE_STAGES) <= set(image[path])
        assert all(image[path][stage] >= 0 for stage in IMAGE_STAGES) and image[path]["total"] > 0
    assert image["maps"] == "ground truth" and image["identical"] is True
    crowd = decoder["crowd"][0]
    assert crowd["num_persons"] == 3 and crowd["identical"] is True
    assert set(DECODER_STAGES) <= set(crowd["fast"]) and set(DECODER_STAGES) <= set(crowd["reference"])

    network = results["network"]
    native = results["environment"]["bf16_native"]
    assert {"fp32", "fp32_batch_flip", "fp32_channels_last"} <= set(network["variants"])
    assert any(name.startswith("bf16") for name in network["variants"]) == native
    assert all(v["ms"] > 0 and v["first_call_ms"] > 0 for v in network["variants"].values())
    fp32 = network["end_to_end"]["fp32"]
    assert fp32["total"] >= fp32["forward"] > 0
    assert fp32["decoder_network_maps"] > 0 and fp32["decoder_gt_maps"] > 0 and fp32["num_persons_gt_maps"] >= 1

    shapes = results["shapes"]
    torch_run = next(run for run in shapes["runs"] if run["backend"] == "torch" and run["precision"] == "fp32")
    sizes = torch_run["first_calls"]["sizes"]
    assert [entry["image_size_wh"] for entry in sizes] == shapes["sizes_wh"]
    assert all(entry["new_shape"] for entry in sizes)  # the quick sizes give three distinct input shapes
    assert all(entry["first_ms"] > 0 and entry["warm_ms"] > 0 for entry in sizes)
    folder = torch_run["folder"]
    assert folder["num_images"] == 4 and len(folder["first_pass_ms"]) == 4
    assert folder["fresh_process_s"] > folder["first_pass_s"] > 0
    assert "torch" in results["latency"]["backends"]

    train = results["train"]
    assert all(rate > 0 for rate in _numbers(train["data_pipeline"]))
    assert set(train["loss"]) >= {"forward", "forward_backward", "reference_forward", "reference_forward_backward"}
    assert {"fp32_with_data", "fp32_without_data", "official_style_fp32_without_data"} <= set(train["step"])
    assert all(len(step["minor_faults"]) == len(step["steps"]) for step in train["step"].values())
    assert all(step["step_ms"] > 0 for step in train["step"].values())
    assert all(len(step["steps"]) == 1 for step in train["step"].values())  # --quick: one timed step each
    assert all(rate > 0 for rate in _numbers(results["pipeline"]))

    accuracy = results["accuracy"]["ap"]["a_flip_single_scale"]
    assert accuracy["default"] == accuracy["official"]  # the default path reproduces the official AP


def test_quick_run_checks_every_target_of_the_targets_file(quick_run, repo):
    stdout, results = quick_run
    targets = json.loads((repo / "benchmarks" / "targets.json").read_text())["targets"]
    names = {target["name"].format(setting="a_flip_single_scale") for target in targets}
    assert {row["name"] for row in results["targets"]} == names
    assert "Targets (benchmarks/targets.json)" in stdout


def test_unknown_section_is_a_one_line_error(repo):
    completed = subprocess.run([sys.executable, str(repo / "tools" / "benchmark.py"), "--only", "gpu"],
                               cwd=repo, capture_output=True, text=True, timeout=120)
    assert completed.returncode != 0 and "invalid choice: 'gpu'" in completed.stderr
