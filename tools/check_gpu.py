"""Check the CUDA paths on a machine with GPUs, and print a short report.

    python tools/check_gpu.py [--images 8] [--iterations 20] [--work-dir output/check_gpu]
    python tools/check_gpu.py --cfg ../shared/tiny/tiny_coco.yaml --weights ../shared/tiny/tiny_coco.pth \\
        --data ../shared/data/coco_sample

Each step runs the real tools (valid.py, dist_train.py, torchrun) in a subprocess:
  1. data: by default a small generated split (higherhrnet.synthetic) and the shipped demo model;
  2. cpu valid: the CPU reference results file;
  3. cuda valid: the same on cuda:0, compared with the CPU file (same persons, keypoints within 1e-3 px but
     for near-ties, AP within 1e-3);
  4. cuda valid TEST.AMP: the same with autocast; AP within 0.02 of the CPU run;
  5. cpu train / cuda train fp16 dynamic / cuda train fp16 static: --iterations training iterations each
     (FP16.ENABLED with FP16.DYNAMIC_LOSS_SCALE True, then False with FP16.STATIC_LOSS_SCALE), every saved
     weight finite;
  6. torchrun 2 GPUs: a two-process training with TRAIN.VAL_FREQ 1, and valid.py under torchrun, whose
     results file must equal the one-process CUDA file.
Without CUDA (or with one GPU) the GPU steps print SKIP with the reason and the CPU steps still run.
Exit status: 0 when nothing failed, 1 otherwise.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools"
DEMO_CONFIG = REPO / "experiments" / "synthetic" / "higher_hrnet" / "w16_192_demo.yaml"
DEMO_WEIGHTS = REPO / "models" / "demo" / "w16_192_demo.pth"
COORDINATE_TOLERANCE = 1e-3   # px, as the fixture comparisons
AP_TOLERANCE = 1e-3
AMP_AP_TOLERANCE = 0.02


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--cfg", type=Path, default=DEMO_CONFIG, help="experiment YAML (default: the demo's)")
    parser.add_argument("--weights", type=Path, default=DEMO_WEIGHTS, help="model for the valid.py steps")
    parser.add_argument("--data", type=Path, default=None,
                        help="COCO-layout folder (DATASET.ROOT); default: generate a small split in --work-dir")
    parser.add_argument("--images", type=int, default=8, help="images of the generated split (default: 8)")
    parser.add_argument("--iterations", type=int, default=20, help="training iterations per step (default: 20)")
    parser.add_argument("--work-dir", type=Path, default=REPO / "output" / "check_gpu",
                        help="where data, outputs and logs go (default: output/check_gpu)")
    return parser.parse_args(argv)


class Report:
    """Rows of (step, PASS / FAIL / SKIP, detail, seconds), printed as they come and as a table at the end."""

    def __init__(self):
        self.rows = []

    def add(self, step, status, detail, seconds=0.0):
        self.rows.append((step, status, detail, seconds))
        print(f"[{status}] {step}: {detail} ({seconds:.1f} s)", flush=True)

    def skip(self, step, reason):
        self.add(step, "SKIP", reason)

    @property
    def failed(self):
        return any(status == "FAIL" for _, status, _, _ in self.rows)

    def print_table(self):
        print("\n| step | status | detail | s |\n|---|---|---|---|")
        for step, status, detail, seconds in self.rows:
            print(f"| {step} | {status} | {detail} | {seconds:.1f} |")


def run_tool(command, log_file, env=None):
    """Run `command` (a list) from the repository root with stdout+stderr into `log_file`; returns (rc, text)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run([str(part) for part in command], cwd=REPO, capture_output=True, text=True,
                               env=dict(os.environ, **(env or {})))
    text = completed.stdout + completed.stderr
    log_file.write_text(text)
    return completed.returncode, text


def ap_from_output(text):
    """AP of the last row of the AP table that valid.py printed ('| <arch> | AP | ...'), or None."""
    rows = [line[line.index("| "):] for line in text.splitlines() if "| " in line]  # after the log's time stamp
    rows = [row for row in rows if not row.startswith("| Arch")]
    for row in reversed(rows):
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        try:
            return float(cells[1])
        except (IndexError, ValueError):
            continue
    return None


def results_file(output_dir):
    """The keypoints results json valid.py wrote under `output_dir` (the newest one), or None."""
    found = sorted(output_dir.rglob("keypoints_*_results.json"), key=lambda path: path.stat().st_mtime)
    return found[-1] if found else None


def compare_results(reference, other, tolerance=COORDINATE_TOLERANCE):
    """Compare two results lists (dicts with image_id and keypoints [x, y, v] * J).

    Records are matched in file order per image. Returns (same_persons, joints, moved, worst): whether every
    image has the same number of persons, the number of joints compared, how many moved more than
    `tolerance` px, and the largest move.
    """
    def by_image(records):
        grouped = {}
        for record in records:
            grouped.setdefault(record["image_id"], []).append(record["keypoints"])
        return grouped

    ours, theirs = by_image(reference), by_image(other)
    same_persons = ours.keys() == theirs.keys() and all(len(ours[k]) == len(theirs[k]) for k in ours)
    joints = moved = 0
    worst = 0.0
    for image_id, persons in ours.items():
        for first, second in zip(persons, theirs.get(image_id, [])):
            for j in range(0, min(len(first), len(second)), 3):
                distance = math.hypot(first[j] - second[j], first[j + 1] - second[j + 1])
                joints += 1
                moved += distance > tolerance
                worst = max(worst, distance)
    return same_persons, joints, moved, worst


def generate_split(work_dir, images):
    """A generated COCO-layout split (val2017 and train2017 of `images` images each) under work_dir/data."""
    from higherhrnet.synthetic import generate_dataset
    root = work_dir / "data"
    if not (root / "annotations" / "person_keypoints_val2017.json").exists():
        generate_dataset(root, seed=0, num_train=images, num_val=images, workers=1)
    return root


class Checks:
    """The steps, sharing the config, weights, data folder and work folder."""

    def __init__(self, args, report):
        self.args, self.report = args, report
        self.work = args.work_dir
        self.common = ["--cfg", args.cfg, "--no-progress"]
        self.data = None

    def valid(self, name, device, extra=(), launcher=None):
        out = self.work / name
        command = [*(launcher or [sys.executable]), TOOLS / "valid.py", *self.common, "DATASET.ROOT", self.data, "TEST.MODEL_FILE",
                   self.args.weights, "OUTPUT_DIR", out, "LOG_DIR", out / "log", "DEVICE", device, *extra]
        start = time.time()
        rc, text = run_tool(command, self.work / "logs" / f"{name}.log")
        return rc, text, results_file(out), time.time() - start

    def cpu_valid(self):
        rc, text, results, seconds = self.valid("cpu_valid", "cpu")
        if rc != 0 or results is None:
            self.report.add("cpu valid", "FAIL", f"valid.py exit {rc}; see {self.work / 'logs' / 'cpu_valid.log'}",
                            seconds)
            return None
        ap = ap_from_output(text)
        if ap is None:
            self.report.add("cpu valid", "FAIL", "no AP table in valid.py's output", seconds)
            return None
        self.report.add("cpu valid", "PASS", f"AP {ap:.4f}, {results.stat().st_size} bytes of results", seconds)
        return ap, json.loads(results.read_text())

    def cuda_valid(self, name, reference, extra=(), amp=False):
        rc, text, results, seconds = self.valid(name, "cuda", extra)
        if rc != 0 or results is None:
            self.report.add(name, "FAIL", f"valid.py exit {rc}; see {self.work / 'logs' / f'{name}.log'}", seconds)
            return None
        ap, records = ap_from_output(text), json.loads(results.read_text())
        same, joints, moved, worst = compare_results(reference[1], records)
        gap = abs(ap - reference[0])
        if amp:
            ok = gap <= AMP_AP_TOLERANCE
            detail = f"AP {ap:.4f} vs CPU {reference[0]:.4f} (tolerance {AMP_AP_TOLERANCE})"
        else:
            ok = same and gap <= AP_TOLERANCE and moved <= max(1, joints // 100)
            detail = (f"AP {ap:.4f} vs CPU {reference[0]:.4f}; same persons: {same}; {moved} of {joints} joints "
                      f"moved > {COORDINATE_TOLERANCE} px (largest {worst:.3g} px)")
        self.report.add(name, "PASS" if ok else "FAIL", detail, seconds)
        return records

    def train(self, name, device, extra=(), launcher=None):
        out = self.work / name
        command = [*(launcher or [sys.executable]), TOOLS / "dist_train.py", *self.common,
                   "--max-iterations", self.args.iterations, "DATASET.ROOT", self.data, "OUTPUT_DIR", out,
                   "LOG_DIR", out / "log", "DEVICE", device, "TRAIN.END_EPOCH", 1, "MODEL.PRETRAINED", "",
                   "AUTO_RESUME", False, *extra]
        start = time.time()
        rc, _ = run_tool(command, self.work / "logs" / f"{name}.log")
        finals = list(out.rglob("final_state.pth"))
        seconds = time.time() - start
        if rc != 0 or not finals:
            self.report.add(name, "FAIL", f"dist_train.py exit {rc}; see {self.work / 'logs' / f'{name}.log'}",
                            seconds)
            return
        state = torch.load(finals[0], map_location="cpu", weights_only=True)
        finite = all(torch.isfinite(value).all() for value in state.values() if value.is_floating_point())
        self.report.add(name, "PASS" if finite else "FAIL",
                        f"{self.args.iterations} iterations, every weight finite: {finite}", seconds)


def main(argv=None):
    args = parse_args(argv)
    report = Report()
    checks = Checks(args, report)
    cuda = torch.cuda.is_available()
    gpus = torch.cuda.device_count() if cuda else 0
    print(f"torch {torch.__version__}, CUDA {'available' if cuda else 'not available'}, {gpus} GPU(s)"
          + (f": {torch.cuda.get_device_name(0)}" if cuda else ""), flush=True)
    no_cuda = "no CUDA device (torch.cuda.is_available() is False)"

    start = time.time()
    checks.data = args.data or generate_split(args.work_dir, args.images)
    report.add("data", "PASS", f"DATASET.ROOT {checks.data}", time.time() - start)
    reference = checks.cpu_valid()
    cuda_records = None
    for name, extra, amp in (("cuda valid", (), False), ("cuda valid TEST.AMP", ("TEST.AMP", True), True)):
        if not cuda:
            report.skip(name, no_cuda)
        elif reference is None:
            report.skip(name, "no CPU reference (cpu valid failed)")
        else:
            records = checks.cuda_valid(name.replace(" ", "_").replace(".", "_"), reference, extra, amp)
            cuda_records = cuda_records if amp else records
    checks.train("cpu train", "cpu")
    for name, dynamic in (("cuda train fp16 dynamic", True), ("cuda train fp16 static", False)):
        if not cuda:
            report.skip(name, no_cuda)
        else:
            checks.train(name.replace(" ", "_"), "cuda",
                         ("FP16.ENABLED", True, "FP16.DYNAMIC_LOSS_SCALE", dynamic, "FP16.STATIC_LOSS_SCALE", 128.0))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--rdzv-backend=c10d",
                "--rdzv-endpoint=localhost:0"]
    if gpus < 2:
        report.skip("torchrun 2 GPUs train", f"{gpus} GPU(s), two needed")
        report.skip("torchrun 2 GPUs valid", f"{gpus} GPU(s), two needed")
    else:
        checks.train("torchrun_train", "cuda", ("TRAIN.VAL_FREQ", 1), launcher=torchrun)
        rc, _, results, seconds = checks.valid("torchrun_valid", "cuda", launcher=torchrun)
        same = (rc == 0 and results is not None and cuda_records is not None
                and json.loads(results.read_text()) == cuda_records)
        report.add("torchrun 2 GPUs valid", "PASS" if same else "FAIL",
                   f"results file equal to the one-process CUDA run: {same}", seconds)
    report.print_table()
    print(f"\nlogs in {args.work_dir / 'logs'}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
