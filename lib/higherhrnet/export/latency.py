"""Per-image latency of `Predictor` with the torch and onnx backends (CPU by default).

    python -m higherhrnet.export.latency --image data/coco/images/val2017/000000000785.jpg \\
        [--cfg experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml] [--weights <pth>] [--runs 5] [--threads 2]

Without --weights the network keeps its random initialisation (seeded): the network time is that of the
trained model, but the decoder then sees meaningless maps (usually the full 30 candidates per joint), so
its share is only indicative. Each backend runs `warmup` predictions, then `runs` timed ones; the report
gives the median wall-clock time of a whole `Predictor.predict` call (image array in, poses out) and the
median of its network part ('forward', both flip passes).
"""
import argparse
import os
import statistics
import tempfile
import time

DEFAULT_CONFIG = "experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml"


def measure_predictor_latency(cfg_file, image_path, *, weights=None, backends=("torch", "onnx"), runs=5, warmup=1,
                              threads=None, flip=True, device="cpu", seed=0):
    """{backend: {'median_s', 'forward_median_s', 'runs_s', 'input_size', 'people'}} for one image.

    threads: torch and onnxruntime intra-op threads (None: leave torch's setting, onnxruntime uses the same
    number). The ONNX model is exported to a temporary folder from the same network.
    """
    import torch

    from higherhrnet.config import load_config
    from higherhrnet.data.image_io import read_image_rgb
    from higherhrnet.engine.inference import prepare
    from higherhrnet.export.onnx_export import export_onnx
    from higherhrnet.models import build_model, load_model_weights
    from higherhrnet.predictor import Predictor

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
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            if backend == "torch":
                predictor = Predictor(cfg, model=network)
            elif backend == "onnx":
                size = int(cfg.DATASET.INPUT_SIZE)
                onnx_path = export_onnx(network, os.path.join(folder, "model.onnx"), example_size_hw=(size, size))
                predictor = Predictor(cfg, onnx_path, backend="onnx", onnx_threads=threads)
            else:
                raise ValueError(f"backend {backend!r}: expected 'torch' or 'onnx'")
            for _ in range(warmup):
                predictor.predict(image, color="rgb")
            totals, forwards, people = [], [], 0
            for _ in range(runs):
                timings = {}
                start = time.perf_counter()
                people = len(predictor.predict(image, color="rgb", timings=timings))
                totals.append(time.perf_counter() - start)
                forwards.append(timings["forward"])
            input_shape = prepare(image, predictor.settings).inputs[0][1].shape
            report[backend] = {"median_s": statistics.median(totals), "forward_median_s": statistics.median(forwards),
                               "runs_s": totals, "input_size": f"{input_shape[3]}x{input_shape[2]}", "people": people}
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
    args = parser.parse_args(argv)
    report = measure_predictor_latency(args.cfg, args.image, weights=args.weights, backends=args.backends,
                                       runs=args.runs, warmup=args.warmup, threads=args.threads,
                                       flip=not args.no_flip)
    import torch
    print(f"{os.path.basename(args.cfg)}, {os.path.basename(args.image)}, flip {not args.no_flip}, single scale, "
          f"CPU, {torch.get_num_threads()} threads, median of {args.runs} runs after {args.warmup} warm-up")
    for backend, values in report.items():
        print(f"  {backend:5s} input {values['input_size']}: {values['median_s'] * 1000:.0f} ms per image "
              f"(network {values['forward_median_s'] * 1000:.0f} ms; runs "
              f"{', '.join(f'{t * 1000:.0f}' for t in values['runs_s'])} ms)")
    return report


if __name__ == "__main__":
    main()
