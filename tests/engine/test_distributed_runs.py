"""Two-process runs of tools/dist_train.py on CPU (Gloo standing in for NCCL): periodic validation split
across the ranks, and resume on nodes that share no filesystem."""
import json

import pytest
import torch

from test_training_runs import CHECK_RANKS_AGREE, _assert_same_training_state, _state, output_dir, train

pytestmark = pytest.mark.slow

TORCHRUN = ["-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=0", "--rdzv-backend=c10d",
            "--rdzv-endpoint=localhost:0"]

# Each rank sees its own output folder, as on nodes without a shared filesystem: rank 0's folder is
# <output>/..., rank 1's would be <output>_rank1/... (never made: rank 1 must need none).
PER_RANK_FOLDERS = CHECK_RANKS_AGREE + """
    import os
    from pathlib import Path
    from higherhrnet.engine import output_dirs
    _directories = output_dirs.run_directories
    def per_rank_directories(cfg, cfg_file, time_str):
        final_output_dir, tb_log_dir = _directories(cfg, cfg_file, time_str)
        rank = int(os.environ.get("RANK", 0))
        if rank == 0:
            return final_output_dir, tb_log_dir
        return Path(str(final_output_dir).replace("output", f"output_rank{rank}", 1)), tb_log_dir
    output_dirs.run_directories = per_rank_directories
"""


def test_validation_during_training_covers_every_image_with_two_processes(repo, shared, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST_FILE", str(tmp_path / "digests.jsonl"))
    # from the trained tiny fixture model at a small LR, so that the validated weights find people
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "1", "TRAIN.VAL_FREQ", "1", "TRAIN.LR", "1e-5",
                                               "MODEL.PRETRAINED", str(shared / "tiny" / "tiny_coco.pth")],
                      prelude=CHECK_RANKS_AGREE, launcher=TORCHRUN)
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = output_dir(tmp_path)
    history = json.loads((out / "val_history.json").read_text())
    results = json.loads((out / "results" / "training_keypoints_val2017_results.json").read_text())
    assert {record["image_id"] for record in results} == {785, 40083, 196141, 197388}
    assert history[-1]["AP"] > 0.1

    # one process, one thread (as each torchrun process), evaluating the same weights
    import subprocess
    import sys
    import os
    alone = subprocess.run(
        [sys.executable, str(repo / "tools" / "valid.py"), "--cfg", str(shared / "tiny" / "tiny_coco.yaml"),
         "--no-progress", "DATASET.ROOT", str(shared / "data" / "coco_sample"),
         "TEST.MODEL_FILE", str(out / "final_state.pth"), "OUTPUT_DIR", str(tmp_path / "alone")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert alone.returncode == 0, alone.stderr[-2000:]
    row = [line for line in alone.stdout.splitlines() if "| pose_hig..." in line][-1]
    assert float(row.split("|")[2]) == pytest.approx(history[-1]["AP"], abs=5e-4)
    alone_results = tmp_path / "alone" / "coco_kpt" / "pose_higher_hrnet" / "tiny_coco" / "results"
    assert (alone_results / "keypoints_val2017_results.json").read_bytes() == \
        (out / "results" / "training_keypoints_val2017_results.json").read_bytes()


def test_resume_without_a_shared_filesystem_is_exact(repo, shared, tmp_path, monkeypatch):
    straight, split = tmp_path / "straight", tmp_path / "split"
    straight.mkdir(), split.mkdir()
    monkeypatch.setenv("DIGEST_FILE", str(tmp_path / "digests.jsonl"))
    whole = train(repo, shared, straight, ["TRAIN.END_EPOCH", "2"], prelude=CHECK_RANKS_AGREE, launcher=TORCHRUN)
    assert whole.returncode == 0, whole.stderr[-3000:]
    for end_epoch in ("1", "2"):
        part = train(repo, shared, split, ["TRAIN.END_EPOCH", end_epoch], prelude=PER_RANK_FOLDERS,
                     launcher=TORCHRUN, timeout=300)
        assert part.returncode == 0, part.stderr[-3000:]
    assert "resumed from" in part.stdout
    assert not (split / "output_rank1").exists()  # rank 1 needed no folder of its own
    _assert_same_training_state(_state(output_dir(straight)), _state(output_dir(split)))
    steps = [json.loads(line) for line in (tmp_path / "digests.jsonl").read_text().splitlines()]
    assert len(steps) == 4 and all(step[0] == step[1] for step in steps)  # the ranks agreed at every step
    checkpoint = torch.load(output_dir(split) / "checkpoint.pth.tar", map_location="cpu", weights_only=True)
    assert len(checkpoint["rng_states"]) == 2 and "cuda" not in checkpoint["rng_states"][0]
