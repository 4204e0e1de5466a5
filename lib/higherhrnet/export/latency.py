"""Per-image latency of `Predictor` with the torch and onnx backends (CPU by default).

    python -m higherhrnet.export.latency --image data/coco/images/val2017/000000000785.jpg \\
        [--cfg experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml] [--weights <pth>] [--runs 5] [--threads 2]

Without --weights the network keeps its random initialisation (seeded): the network time is that of the
trained model, but the decoder then sees meaningless maps (usually the full 30 candidates per joint), so
its share is only indicative. Each backend runs `warmup` predictions, then `runs` timed ones; the report
gives the median wall-clock time of a whole `Predictor.predict` call (image array in, poses out) and the
median of its network part ('forward', both flip passes).

On a machine shared with other jobs, busy-waiting thread pools slow down badly; there, start with
`OMP_WAIT_POLICY=PASSIVE` in the environment (torch's OpenMP pool reads it at start-up) and pass --passive
(turns off onnxruntime's spinning), so that both runtimes wait politely.
"""
import argparse
import os
import statistics
import tempfile
import time

DEFAULT_CONFIG = "experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml"


def measure_predictor_latency(cfg_file, image_path, *, weights=None, backends=("torch", "onnx"), runs=5, warmup=1,
                              threads=None, flip=True, device="cpu", seed=0, flush_denormal=True, onnx_spinning=True):
    """{backend: {'median_s', 'forward_median_s', 'runs_s', 'input_size', 'people'}} for one image.

    threads: torch and onnxruntime intra-op threads (None: torch's current setting for both). The ONNX
    model is exported to a temporary folder from the same network. The timed runs alternate between the
    backends, so that a shared machine's load affects both alike. flush_denormal: treat denormal floats as
    zero in both runtimes (random weights produce many, and they slow CPUs down by large factors).
    onnx_spinning: onnxruntime's intra-op threads busy-wait between tasks (its default).
    """
    import torch

    from higherhrnet.config import load_config
    from higherhrnet.data.image_io import read_image_rgb
    from higherhrnet.engine.inference import prepare
    from higherhrnet.export.onnx_export import export_onnx
    from higherhrnet.models import build_model, load_model_weights
    from higherhrnet.predictor import Predictor

    for backend in backends:
        if backend not in ("torch", "onnx"):
            raise ValueError(f"backend {backend!r}: expected 'torch' or 'onnx'")
    if threads:
        torch.set_num_threads(int(threads))
    threads = torch.get_num_threads()
    cfg = load_config(cfg_file, ["DEVICE", device, "TEST.FLIP_TEST", bool(flip), "TEST.SCALE_FACTOR", [1.0]])
    torch.manual_seed(seed)
    network = build_model(cfg, is_train=False)
    if weights:
        load_model_weights(network, weights)
    network.eval()
    image = read_image_rgb(image_path)
    report = {}
    torch.set_flush_denormal(bool(flush_denormal))  # torch's default is off; restored below
    try:
        with tempfile.TemporaryDirectory() as folder:
            predictors = {}
            for backend in backends:
                if backend == "torch":
                    predictors[backend] = Predictor(cfg, model=network)
                else:
                    size = int(cfg.DATASET.INPUT_SIZE)
                    onnx_path = export_onnx(network, os.path.join(folder, "model.onnx"), example_size_hw=(size, size))
                    config = {"session.set_denormal_as_zero": "1" if flush_denormal else "0",
                              "session.intra_op.allow_spinning": "1" if onnx_spinning else "0"}
                    predictors[backend] = Predictor(cfg, onnx_path, backend="onnx", onnx_threads=threads,
                                                    onnx_session_config=config)
                for _ in range(warmup):
                    predictors[backend].predict(image, color="rgb")
            totals = {backend: [] for backend in backends}
            forwards = {backend: [] for backend in backends}
            people = {}
            for _ in range(runs):
                for backend, predictor in predictors.items():
                    timings = {}
                    start = time.perf_counter()
                    people[backend] = len(predictor.predict(image, color="rgb", timings=timings))
                    totals[backend].append(time.perf_counter() - start)
                    forwards[backend].append(timings["forward"])
            for backend, predictor in predictors.items():
                input_shape = prepare(image, predictor.settings).inputs[0][1].shape
                report[backend] = {"median_s": statistics.median(totals[backend]),
                                   "forward_median_s": statistics.median(forwards[backend]), "runs_s": totals[backend],
                                   "input_size": f"{input_shape[3]}x{input_shape[2]}", "people": people[backend]}
    finally:
        torch.set_flush_denormal(False)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description="Predictor latency, torch vs onnx backend (median per image).")
    parser.add_argument("--cfg", default=DEFAULT_CONFIG, help=f"experiment YAML (default {DEFAULT_CONFIG})")
    parser.add_argument("--image", required=True, help="a test picture, e.g. a COCO val2017 image")
    parser.add_argument("--weights", help="weights (.pth); default: random initialisation")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per backend (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--threads", type=int, help="intra-op threads for both runtimes (default: torch's)")
    parser.add_argument("--no-flip", action="store_true", help="no flip test")
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx"], choices=["torch", "onnx"])
    parser.add_argument("--keep-denormals", action="store_true", help="do not flush denormal floats to zero")
    parser.add_argument("--passive", action="store_true", help="no onnxruntime spinning (with OMP_WAIT_POLICY="
                        "PASSIVE set in the environment for torch; for shared machines)")
    args = parser.parse_args(argv)
    wait_policy = os.environ.get("OMP_WAIT_POLICY", "")
    if args.passive and wait_policy.upper() != "PASSIVE":
        print("warning: --passive without OMP_WAIT_POLICY=PASSIVE in the environment: torch still spins")
    report = measure_predictor_latency(args.cfg, args.image, weights=args.weights, backends=args.backends,
                                       runs=args.runs, warmup=args.warmup, threads=args.threads,
                                       flip=not args.no_flip, flush_denormal=not args.keep_denormals,
                                       onnx_spinning=not args.passive)
    import torch
    print(f"{os.path.basename(args.cfg)}, {os.path.basename(args.image)}, flip {not args.no_flip}, single scale, "
          f"CPU, {torch.get_num_threads()} threads, median of {args.runs} runs after {args.warmup} warm-up, "
          f"{'random' if not args.weights else 'loaded'} weights, OMP_WAIT_POLICY={wait_policy or 'default'}, "
          f"onnxruntime spinning {'off' if args.passive else 'on'}, load average {os.getloadavg()[0]:.1f}")
    for backend, values in report.items():
        print(f"  {backend:5s} input {values['input_size']}: {values['median_s'] * 1000:.0f} ms per image "
              f"(network {values['forward_median_s'] * 1000:.0f} ms; runs "
              f"{', '.join(f'{t * 1000:.0f}' for t in values['runs_s'])} ms)")
    return report


if __name__ == "__main__":
    main()
