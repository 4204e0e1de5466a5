"""Speed benchmark: python tools/benchmark.py [--only SECTION ...] [--quick] [--out F.json]

Sections (all by default):
  decoder   every stage of testing per sample image (read, resize, forwards, aggregation, NMS + top-k,
            matching, adjust, refine, back-projection, COCO evaluation), the fast decoder against the
            official-loop one on the images' ground-truth maps and on crowded scenes of 10 / 20 / 30 persons
  network   the network part of a flip test in fp32 / bf16, channels-last, batched flip; end to end in fp32 /
            bf16, with the decoder timed on the network's own maps and on the ground-truth maps
  shapes    the first forward at each new input shape against a warmed forward (torch fp32, bf16, ONNX), and a
            folder of mixed-size images through the Predictor in a fresh process
  latency   Predictor latency per image, torch against onnxruntime
  train     data pipeline per worker, the loss beside an official-style one, fp32 / bf16 training steps
  pipeline  the data pipeline against an official-style loop pipeline, per worker and through a DataLoader
  accuracy  the AP effect of the switches that change results (TEST.BATCH_FLIP, TEST.MATCHER scipy) on the
            fixtures' tiny model; with bf16, the AP move of each precision lever of TEST.AMP (tiny and demo model)
Every measurement runs in its own fresh process (variants timed one after another in one process distort
each other), warmed up on the input it is timed on; tables give medians and same-run ratios, with the
machine's CPU, torch CPU capability, AMX / AVX512-BF16 flags and thread count. bfloat16 is timed only where
the CPU computes it natively, unless --bf16 on. The targets of benchmarks/targets.json are checked at the end.
--out writes everything as JSON: environment (machine facts), config, sections, one entry per section, targets.

Examples:
  python tools/benchmark.py --out output/benchmark.json
  python tools/benchmark.py --only decoder --crowd 30 --repeats 9
  python tools/benchmark.py --only network --threads 2 --cfg experiments/coco/higher_hrnet/w32_640_adam_lr1e-3.yaml
  python tools/benchmark.py --only shapes --sizes 640x480 480x640 1280x720 --folder-images 12
  python tools/benchmark.py --only latency --images photo.jpg --threads 2
  python tools/benchmark.py --quick --cfg ../shared/tiny/tiny_coco.yaml      # smoke run, tiny sizes
The network keeps its (seeded) random initialisation unless --weights is given: its speed does not
depend on the weights, and the decoder is also timed on maps built from ground truth.
"""
import argparse
import json
import os
import sys
from pathlib import Path

# benchmarks/ is a folder of the repository, not part of the installed package: this script (and only it)
# puts the repository root on sys.path to import it, and with it the tests' reference implementations.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.options import BACKENDS, SECTIONS, BenchmarkOptions  # noqa: E402


def image_size(text):
    """'640x480' -> (640, 480): width x height in pixels."""
    try:
        width, height = (int(value) for value in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be positive")
    return width, height


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Time every stage of HigherHRNet testing and training, each "
                                     "measurement in a fresh process.")
    parser.add_argument("--cfg", help="experiment YAML (default: the repository's "
                        "experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml)")
    parser.add_argument("--weights", help="network weights (default: random initialisation)")
    parser.add_argument("--data-root", help="COCO-layout folder with annotations/person_keypoints_val2017.json "
                        "and images/val2017 (default: the COCO sample in ../shared/data/coco_sample)")
    parser.add_argument("--images", nargs="+", help="image files to time (default: every image of --data-root; "
                        "network, shapes and latency use the first)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    parser.add_argument("--crowd", nargs="*", type=int, help="persons per crowded scene (default 10 20 30)")
    parser.add_argument("--crowd-size", nargs=2, type=int, metavar=("W", "H"), help="crowded maps size "
                        "(default 768 512)")
    parser.add_argument("--repeats", type=int, help="timed runs per measurement, median reported (default 5)")
    parser.add_argument("--warmup", type=int, help="untimed runs first (default 1; network, shapes and latency "
                        "measurements always make at least one, on the input they time)")
    parser.add_argument("--reference-repeats", type=int, help="timed runs of the slow reference decoder (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="torch / OpenMP threads of every measurement "
                        "process (default 2)")
    parser.add_argument("--variants", nargs="+", help="network variants (default: all; the bf16 ones only when "
                        "bf16 is timed)")
    parser.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                        help="time bfloat16 inference and training: auto (default) = on a CPU with native "
                        "bfloat16 (avx512_bf16 / amx_bf16); elsewhere oneDNN emulates it, much slower than fp32")
    parser.add_argument("--sizes", nargs="+", type=image_size, metavar="WxH", help="shapes: image sizes in turn "
                        "(default 640x480 480x640 640x427 427x640 1280x720 720x1280 612x612 800x600)")
    parser.add_argument("--folder-images", type=int, help="shapes: images in the folder given to the Predictor "
                        "(default 8)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, help="shapes and latency: runtimes "
                        "(default torch onnx; onnx needs onnx and onnxruntime)")
    parser.add_argument("--keep-denormals", action="store_true", help="latency: do not flush denormal floats to zero")
    parser.add_argument("--passive", action="store_true", help="latency: no onnxruntime spinning (with "
                        "OMP_WAIT_POLICY=PASSIVE set in the environment for torch; for shared machines)")
    parser.add_argument("--data-samples", type=int, help="samples per data pipeline rate (default 200)")
    parser.add_argument("--rounds", type=int, help="pipeline: alternating rounds, best rate reported (default 3)")
    parser.add_argument("--train-steps", type=int, help="timed training steps per setting (default 5)")
    parser.add_argument("--train-warmup", type=int, help="untimed training steps first, per setting (default 3: "
                        "a process's first steps fault in fresh pages)")
    parser.add_argument("--train-batch", type=int, help="training batch size (default 2)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke run")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides as KEY VALUE pairs")
    return parser.parse_args(argv)


def options_from_args(args):
    given = dict(
        cfg=args.cfg, opts=args.opts, weights=args.weights, data_root=args.data_root, images=args.images,
        only=args.only, crowd=args.crowd, crowd_size=args.crowd_size, repeats=args.repeats, warmup=args.warmup,
        reference_repeats=args.reference_repeats, threads=args.threads, variants=args.variants,
        data_samples=args.data_samples, train_steps=args.train_steps, train_warmup=args.train_warmup,
        train_batch=args.train_batch,
        sizes=args.sizes, folder_images=args.folder_images, backends=args.backends, rounds=args.rounds,
        flush_denormal=not args.keep_denormals, onnx_spinning=not args.passive,
        bf16={"auto": None, "on": True, "off": False}[args.bf16])
    given = {name: value for name, value in given.items() if value is not None}
    return BenchmarkOptions.quick_options(**given) if args.quick else BenchmarkOptions(**given)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # one measurement in this fresh process (benchmarks/isolated.py)
        from benchmarks.tasks import run_task_file

        return run_task_file(argv[1])
    args = parse_args(argv)
    from benchmarks.report import format_results
    from benchmarks.runner import run_benchmark
    from higherhrnet.config import ConfigError

    if args.passive and os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
        print("warning: --passive without OMP_WAIT_POLICY=PASSIVE in the environment: torch still spins",
              file=sys.stderr)
    try:
        results = run_benchmark(options_from_args(args))
    except (ConfigError, FileNotFoundError, ValueError, RuntimeError) as error:
        sys.exit(f"error: {error}")
    print(format_results(results))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)
        print(f"\nresults written to {args.out}")


if __name__ == "__main__":
    main()
