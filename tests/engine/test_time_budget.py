"""tools/dist_train.py --time-budget: training stops by wall time, saves as at a normal end, on every rank alike."""
import subprocess
import sys
import time

import pytest
import torch

from higherhrnet.engine.training import TimeBudget
from test_training_runs import train

OPTS = ["TRAIN.SEED", "0", "WORKERS", "0", "DEBUG.DEBUG", "False", "PRINT_FREQ", "1", "TRAIN.IMAGES_PER_GPU", "1",
        "AUTO_RESUME", "False", "TRAIN.END_EPOCH", "1000"]
TORCHRUN = ["-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=0", "--rdzv-backend=c10d",
            "--rdzv-endpoint=localhost:0"]


def test_time_budget_is_spent_after_its_seconds_and_remembers_it():
    budget = TimeBudget(5.0, torch.device("cpu"), start=time.monotonic())
    assert not budget.spent() and not budget.stopped
    late = TimeBudget(5.0, torch.device("cpu"), start=time.monotonic() - 6.0)
    assert late.spent() and late.stopped
    with pytest.raises(ValueError, match="positive"):
        TimeBudget(0, torch.device("cpu"))


def test_dist_train_refuses_a_bad_time_budget(repo):
    completed = subprocess.run([sys.executable, str(repo / "tools" / "dist_train.py"), "--cfg", "x.yaml",
                                "--time-budget", "soon"], capture_output=True, text=True)
    assert completed.returncode == 2
    assert "--time-budget: 'soon' is not a positive number of seconds" in completed.stderr


def _train(repo, shared, workdir, budget, prelude="", launcher=()):
    return train(repo, shared, workdir, [], prelude=prelude, launcher=launcher, flags=["--time-budget", str(budget)],
                 base_opts=OPTS)


def _stopped_iterations(stdout):
    line = next(line for line in stdout.splitlines() if "stopped at the time budget" in line)
    return int(line.split(" after ")[1].split()[0])


@pytest.mark.slow
def test_training_stops_at_its_time_budget_with_a_valid_checkpoint(repo, shared, tmp_path):
    completed = _train(repo, shared, tmp_path, 12)
    assert completed.returncode == 0, completed.stderr[-3000:]
    iterations = _stopped_iterations(completed.stdout)
    out = tmp_path / "output" / "coco_kpt" / "pose_higher_hrnet" / "tiny_coco"
    checkpoint = torch.load(out / "checkpoint.pth.tar", map_location="cpu", weights_only=True)
    # 4 images of batch 1: 4 iterations per epoch; the epoch cut by the budget is saved as finished
    assert 1 <= checkpoint["epoch"] < 1000 and checkpoint["epoch"] == -(-iterations // 4)
    assert checkpoint["global_step"] == iterations
    final = torch.load(out / "final_state.pth", map_location="cpu", weights_only=True)
    assert set(final) == set(checkpoint["state_dict"])
    assert all(torch.equal(final[key], checkpoint["state_dict"][key]) for key in final)


# Rank 1's own clock never runs out: only rank 0's decision, broadcast, can stop it. Without the broadcast
# rank 1 would train on alone and the run would hang in DDP's gradient all-reduce (the test's timeout).
RANK1_NEVER_SPENT = """
    import os
    from higherhrnet.engine import training
    _init = training.TimeBudget.__init__
    def _late_start(self, seconds, device, start=None):
        _init(self, seconds, device, start)
        if os.environ.get("RANK") == "1":
            self.start += 10 ** 6
    training.TimeBudget.__init__ = _late_start
"""


@pytest.mark.slow
def test_every_rank_stops_at_rank_0s_iteration_under_torchrun(repo, shared, tmp_path):
    completed = _train(repo, shared, tmp_path, 20, prelude=RANK1_NEVER_SPENT, launcher=TORCHRUN)
    assert completed.returncode == 0, completed.stderr[-3000:]
    iterations = _stopped_iterations(completed.stdout)
    checkpoint = torch.load(tmp_path / "output" / "coco_kpt" / "pose_higher_hrnet" / "tiny_coco" /
                            "checkpoint.pth.tar", map_location="cpu", weights_only=True)
    # two ranks of 2 images each: 2 iterations per epoch
    assert 1 <= checkpoint["epoch"] < 1000 and checkpoint["epoch"] == -(-iterations // 2)
    assert len(checkpoint["rng_states"]) == 2
