"""`torchrun --nproc_per_node=2 tools/valid.py` on CPU: images split across ranks, results gathered on rank 0.

The results file must be byte-identical to a single-process run, and the table the same.
"""
import os
import subprocess
import sys

import pytest

RESULTS = ("output", "coco_kpt", "pose_higher_hrnet", "tiny_coco", "results", "keypoints_val2017_results.json")


def _valid(repo, shared, workdir, launcher=()):
    command = [sys.executable, *launcher, str(repo / "tools" / "valid.py"), "--cfg",
               str(shared / "tiny" / "tiny_coco.yaml"), "--no-progress",
               "TEST.MODEL_FILE", str(shared / "tiny" / "tiny_coco.pth"),
               "DATASET.ROOT", str(shared / "data" / "coco_sample")]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_two_process_evaluation_writes_the_single_process_results(repo, shared, tmp_path):
    single, double = tmp_path / "single", tmp_path / "double"
    single.mkdir(), double.mkdir()
    alone = _valid(repo, shared, single)
    assert alone.returncode == 0, alone.stderr[-2000:]
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node=2", "--rdzv-backend=c10d",
                "--rdzv-endpoint=localhost:0"]
    split = _valid(repo, shared, double, launcher)
    assert split.returncode == 0, split.stderr[-2000:]
    assert single.joinpath(*RESULTS).read_bytes() == double.joinpath(*RESULTS).read_bytes()
    table = [line.split(" ", 2)[-1] for line in alone.stdout.splitlines() if "| pose_hig..." in line]
    table_split = [line.split(" ", 2)[-1] for line in split.stdout.splitlines() if "| pose_hig..." in line]
    assert table == table_split and len(table) == 1
    # rank 1 wrote nothing of its own
    logs = sorted(p.name for p in double.joinpath(*RESULTS[:4]).glob("*.log"))
    assert logs and all(name.endswith("_rank0.log") for name in logs)
