"""Speed benchmark: python tools/benchmark.py [--only decoder network train accuracy] [--quick] [--out F.json]

Times every stage of the test pipeline per sample image (read, resize, forward and flip forward,
aggregation, NMS + top-k, matching, adjust, refine, back-projection, COCO evaluation), the fast decoder
against the official-loop reference decoder on the same maps (the images' ground-truth maps and crowded
synthetic scenes of 10 / 20 / 30 persons), the network in fp32 / bf16 / channels-last / batched flip,
end to end, training (data pipeline per worker, loss, fp32 and bf16 steps), and the AP effect of the
switches that change results (TEST.AMP, TEST.BATCH_FLIP, TEST.MATCHER scipy) on the fixtures' tiny model.
Prints tables (median milliseconds after warm-up and shares of the total) and writes everything as JSON
with --out.

Examples:
  python tools/benchmark.py --out output/benchmark.json
  python tools/benchmark.py --only decoder --crowd 30 --repeats 9
  python tools/benchmark.py --only accuracy
  python tools/benchmark.py --cfg experiments/coco/higher_hrnet/w32_640_adam_lr1e-3.yaml --only network
  python tools/benchmark.py --quick --cfg ../shared/tiny/tiny_coco.yaml      # smoke run, tiny sizes
The network keeps its (seeded) random initialisation unless --weights is given: its speed does not
depend on the weights, and the decoder is timed on maps built from ground truth instead.
"""
import argparse
import json
import os
import sys


def parse_args(argv=None):
    from higherhrnet.bench import SECTIONS
    from higherhrnet.bench.runner import DEFAULT_CONFIG

    parser = argparse.ArgumentParser(description="Time every stage of HigherHRNet testing and training.")
    parser.add_argument("--cfg", default=DEFAULT_CONFIG, help=f"experiment YAML (default {DEFAULT_CONFIG})")
    parser.add_argument("--weights", help="network weights (default: random initialisation)")
    parser.add_argument("--data-root", help="COCO-layout folder with annotations/person_keypoints_val2017.json "
                        "and images/val2017 (default: the COCO sample in ../shared/data/coco_sample)")
    parser.add_argument("--images", nargs="+", help="image files to time (default: every image of --data-root)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    parser.add_argument("--crowd", nargs="*", type=int, help="persons per crowded scene (default 10 20 30)")
    parser.add_argument("--crowd-size", nargs=2, type=int, metavar=("W", "H"), help="crowded maps size "
                        "(default 768 512)")
    parser.add_argument("--repeats", type=int, help="timed runs per measurement, median reported (default 5)")
    parser.add_argument("--warmup", type=int, help="untimed runs first (default 1)")
    parser.add_argument("--reference-repeats", type=int, help="timed runs of the slow reference decoder (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--variants", nargs="+", help="network variants (default: all; the bf16 ones when bf16 is "
                        "timed)")
    parser.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                        help="time bfloat16 inference and training: auto (default) = on CUDA or on a CPU with "
                        "native bfloat16 (avx512_bf16 / amx_bf16); elsewhere it is emulated and ~100x slower")
    parser.add_argument("--data-samples", type=int, help="samples for the data pipeline rate (default 200)")
    parser.add_argument("--train-steps", type=int, help="timed training steps per setting (default 3)")
    parser.add_argument("--train-batch", type=int, help="training batch size (default 2)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke run")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides as KEY VALUE pairs")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from higherhrnet.bench import BenchmarkOptions, format_results, run_benchmark
    from higherhrnet.config import ConfigError

    given = {name: value for name, value in dict(
        cfg=args.cfg, opts=args.opts, weights=args.weights, data_root=args.data_root, images=args.images,
        only=args.only, crowd=args.crowd, crowd_size=args.crowd_size, repeats=args.repeats, warmup=args.warmup,
        reference_repeats=args.reference_repeats, threads=args.threads, variants=args.variants,
        data_samples=args.data_samples, train_steps=args.train_steps, train_batch=args.train_batch,
        bf16={"auto": None, "on": True, "off": False}[args.bf16]).items() if value is not None}
    options = BenchmarkOptions.quick_options(**given) if args.quick else BenchmarkOptions(**given)
    try:
        results = run_benchmark(options)
    except (ConfigError, FileNotFoundError, ValueError) as error:
        sys.exit(f"error: {error}")
    print(format_results(results))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)
        print(f"\nresults written to {args.out}")


if __name__ == "__main__":
    main()
