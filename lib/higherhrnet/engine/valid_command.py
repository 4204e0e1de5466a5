"""Command line of the evaluation: `higherhrnet-valid` (also tools/valid.py, the official command line).

    higherhrnet-valid --cfg experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml \\
        TEST.MODEL_FILE models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth [TEST.FLIP_TEST False] \\
        [TEST.SCALE_FACTOR '[0.5, 1.0, 2.0]']

Weights: TEST.MODEL_FILE, else <final_output_dir>/model_best.pth.tar. Runs on CUDA when available (or
DEVICE cpu/cuda:N), on CPU otherwise. Under `torchrun --nproc_per_node=N` the images are split across
processes and rank 0 writes the same results file and table as one process. An error of the input (a config
key, a missing or unreadable file, an output folder in the way) ends the run with one line
`error: <file/key>: <what>` and exit status 1; a bug keeps its traceback.
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Evaluate HigherHRNet on a test split and print the official AP table.")
    parser.add_argument("--cfg", required=True, help="experiment YAML, e.g. experiments/coco/higher_hrnet/"
                        "w32_512_adam_lr1e-3.yaml")
    parser.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bar")
    parser.add_argument("opts", nargs=argparse.REMAINDER,
                        help="config overrides as KEY VALUE pairs, e.g. TEST.MODEL_FILE <pth> TEST.FLIP_TEST False")
    return parser.parse_args(argv)


def main(argv=None):
    """Evaluate as the arguments say (default sys.argv[1:]); a reported error exits with `error: <one line>`."""
    args = parse_args(argv)
    from ..errors import REPORTED_ERRORS, one_line
    from .evaluation import run_validation  # after parse_args: --help does not wait for torch
    try:
        run_validation(args.cfg, args.opts, show_progress=not args.no_progress)
    except REPORTED_ERRORS as error:
        sys.exit(f"error: {one_line(error)}")
