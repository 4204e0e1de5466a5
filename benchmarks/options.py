"""What a benchmark run measures: the sections, BenchmarkOptions (tools/benchmark.py's arguments), defaults."""
import dataclasses
from pathlib import Path
from typing import Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]

SECTIONS = ("decoder", "network", "shapes", "latency", "train", "pipeline", "accuracy")
DEFAULT_CONFIG = str(REPO / "experiments" / "coco" / "higher_hrnet" / "w32_512_adam_lr1e-3.yaml")
# Photo sizes (W, H) of the shapes section: 4:3, 3:2, 16:9 in both orientations, square, and one size that
# gives the same network input as the first (no new shape).
DEFAULT_SIZES_WH = ((640, 480), (480, 640), (640, 427), (427, 640), (1280, 720), (720, 1280), (612, 612),
                    (800, 600))
BACKENDS = ("torch", "onnx")


@dataclasses.dataclass
class BenchmarkOptions:
    cfg: str = DEFAULT_CONFIG
    opts: Sequence[str] = ()
    data_root: Optional[str] = None     # COCO layout (annotations + images/val2017); default: the sample
    images: Optional[Sequence[str]] = None  # image files; default: every image of the data root
    weights: Optional[str] = None       # TEST.MODEL_FILE; default: random initialisation (seeded)
    only: Sequence[str] = SECTIONS
    crowd: Sequence[int] = (10, 20, 30)
    crowd_size: Tuple[int, int] = (768, 512)  # (W, H) of the crowded maps
    repeats: int = 5                    # timed runs per measurement (median reported)
    warmup: int = 1                     # untimed runs first (network measurements: at least 1)
    reference_repeats: int = 1          # the reference decoder is slow: fewer repeats
    threads: int = 2                    # torch / OpenMP threads of every measurement process
    variants: Optional[Sequence[str]] = None  # network variants (default: all; bf16 ones only when bf16 is timed)
    bf16: Optional[bool] = None         # time bfloat16; None: only where the CPU computes it natively
    data_samples: int = 200             # samples per data pipeline rate
    train_steps: int = 5
    train_warmup: int = 3               # untimed training steps first (page-fault transient, training.py)
    train_batch: int = 2                # TRAIN.IMAGES_PER_GPU of the timed training steps
    sizes: Sequence[Tuple[int, int]] = DEFAULT_SIZES_WH  # (W, H) image sizes of the shapes section
    folder_images: int = 8              # images in the shapes section's folder (sizes in turn)
    backends: Sequence[str] = BACKENDS  # runtimes of the shapes and latency sections
    flush_denormal: bool = True         # latency: denormal floats as zero in both runtimes
    onnx_spinning: bool = True          # latency: onnxruntime's threads busy-wait (its default)
    rounds: int = 3                     # pipeline: alternating rounds, best rate reported
    quick: bool = False

    @classmethod
    def quick_options(cls, **changes):
        """Tiny sizes for a smoke run: one image, one small crowd, one repeat, few samples and steps."""
        values = dict(crowd=(3,), crowd_size=(96, 64), repeats=1, warmup=0, reference_repeats=1, data_samples=4,
                      train_steps=1, train_warmup=0, train_batch=1, sizes=((320, 240), (240, 320), (400, 225)),
                      folder_images=4, rounds=1, quick=True)
        values.update(changes)
        return cls(**values)
