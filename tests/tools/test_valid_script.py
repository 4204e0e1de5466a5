"""tools/valid.py, the real script in a subprocess, against the official test-pipeline fixtures (FIXTURES §2a)."""
import json
import subprocess
import sys

import pytest

from higherhrnet.predictor import Predictor

from near_ties import assert_poses_match_official, decoder_of_images

SETTINGS = {
    "a_flip_single_scale": [],
    "b_noflip_single_scale": ["TEST.FLIP_TEST", "False"],
    "c_flip_multi_scale": ["TEST.SCALE_FACTOR", "[0.5, 1.0, 2.0]"],
}


def run_valid(repo, shared, workdir, opts):
    command = [sys.executable, str(repo / "tools" / "valid.py"), "--cfg", str(shared / "tiny" / "tiny_coco.yaml"),
               "--no-progress", "TEST.MODEL_FILE", str(shared / "tiny" / "tiny_coco.pth"),
               "DATASET.ROOT", str(shared / "data" / "coco_sample"), *opts]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)


def sample_images(shared):
    """{image id: path} of the COCO sample."""
    root = shared / "data" / "coco_sample"
    images = json.loads((root / "annotations" / "person_keypoints_val2017.json").read_text())["images"]
    return {image["id"]: root / "images" / "val2017" / image["file_name"] for image in images}


@pytest.mark.parity
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_valid_script_reproduces_the_official_results(repo, shared, tmp_path, setting):
    completed = run_valid(repo, shared, tmp_path, SETTINGS[setting])
    assert completed.returncode == 0, completed.stderr[-2000:]
    reference_dir = shared / "tiny" / "pipeline" / setting
    output_dir = tmp_path / "output" / "coco_kpt" / "pose_higher_hrnet" / "tiny_coco"

    results = json.loads((output_dir / "results" / "keypoints_val2017_results.json").read_text())
    reference = json.loads((reference_dir / "keypoints_val2017_results.json").read_text())
    assert all(record["category_id"] == 1 for record in results)
    # equal, or different only at near-ties proven on the maps of the same pipeline (tests/near_ties.py)
    predictor = Predictor(shared / "tiny" / "tiny_coco.yaml", shared / "tiny" / "tiny_coco.pth", device="cpu",
                          opts=SETTINGS[setting])
    assert_poses_match_official(results, reference, decoder_of_images(predictor.pipeline, sample_images(shared)))

    # the printed table holds the official AP values
    ap = json.loads((reference_dir / "ap.json").read_text())
    table = [line for line in completed.stdout.splitlines() if "| pose_hig..." in line]
    assert table, completed.stdout[-2000:]
    printed = [float(v) for v in table[-1].split("|")[2:-1]]
    assert printed == pytest.approx([round(v, 3) for v in ap.values()], abs=1.5e-3)
    # a skeleton picture every PRINT_FREQ (100) images: image 0 only, and a log file
    assert (output_dir / "result_valid_0.jpg").is_file()
    logs = list(output_dir.glob("valid_*_rank0.log"))
    assert logs
    # the top of the log states what decides the last bits: CPU capability and torch threads
    first_line = logs[0].read_text().splitlines()[0]
    assert "CPU capability" in first_line and "torch threads" in first_line, first_line


@pytest.mark.slow
def test_valid_script_errors_are_one_line(repo, shared, tmp_path):
    missing = run_valid(repo, shared, tmp_path, ["TEST.MODEL_FILE", str(tmp_path / "nope.pth")])
    assert missing.returncode != 0
    assert missing.stderr.strip().count("\n") == 0 and "nope.pth" in missing.stderr
    no_unit_scale = run_valid(repo, shared, tmp_path, ["TEST.SCALE_FACTOR", "[0.5, 2.0]"])
    assert no_unit_scale.returncode != 0 and "1.0" in no_unit_scale.stderr or "1" in no_unit_scale.stderr
    assert no_unit_scale.stderr.strip().count("\n") == 0
    unknown = run_valid(repo, shared, tmp_path, ["TEST.NOT_A_KEY", "1"])
    assert unknown.returncode != 0 and "TEST.NOT_A_KEY" in unknown.stderr
    assert unknown.stderr.strip().count("\n") == 0


def _sample_copy(shared, root):
    """A writable copy of the COCO sample layout in tmp (never committed), to break files in."""
    import shutil
    shutil.copytree(shared / "data" / "coco_sample", root)
    return root


@pytest.mark.slow
def test_valid_script_bad_data_gives_one_line_errors(repo, shared, tmp_path):
    root = _sample_copy(shared, tmp_path / "coco")
    (root / "images" / "val2017" / "000000040083.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    corrupt = run_valid(repo, shared, tmp_path, ["DATASET.ROOT", str(root)])
    assert corrupt.returncode != 0 and "000000040083.jpg" in corrupt.stderr
    assert corrupt.stderr.strip().count("\n") == 0

    (root / "images" / "val2017" / "000000040083.jpg").unlink()
    missing = run_valid(repo, shared, tmp_path, ["DATASET.ROOT", str(root)])
    assert missing.returncode != 0 and "000000040083.jpg" in missing.stderr and "not found" in missing.stderr

    annotation = root / "annotations" / "person_keypoints_val2017.json"
    annotation.write_text("{ this is not json")
    not_json = run_valid(repo, shared, tmp_path, ["DATASET.ROOT", str(root)])
    assert not_json.returncode != 0 and "person_keypoints_val2017.json" in not_json.stderr
    assert not_json.stderr.strip().count("\n") == 0
    annotation.unlink()
    absent = run_valid(repo, shared, tmp_path, ["DATASET.ROOT", str(root)])
    assert absent.returncode != 0 and "person_keypoints_val2017.json" in absent.stderr
    assert absent.stderr.strip().count("\n") == 0


@pytest.mark.slow
def test_valid_script_without_detections_prints_zeros_and_warns(repo, shared, tmp_path):
    completed = run_valid(repo, shared, tmp_path, ["TEST.DETECTION_THRESHOLD", "2.0"])
    assert completed.returncode == 0, completed.stderr[-2000:]
    row = [line for line in completed.stdout.splitlines() if "| pose_hig..." in line][-1]
    assert [float(v) for v in row.split("|")[2:-1]] == [0.0] * 10
    assert "no" in (completed.stderr + completed.stdout).lower() and "warn" in (completed.stderr + completed.stdout).lower()
