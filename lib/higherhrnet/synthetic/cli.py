"""Command line of the synthetic-data generator: `higherhrnet-synthetic` (also tools/make_synthetic.py).

    higherhrnet-synthetic                                 # data/synthetic: 4000 train + 200 val images
    higherhrnet-synthetic --train 20 --val 10 --out /tmp/synthetic_small
    higherhrnet-synthetic --layout ten_joints --no-side-colours --out data/synthetic_ten_joints

Writes <out>/annotations/person_keypoints_{train2017,val2017}.json and <out>/images/{train2017,val2017}/*.jpg.
The same arguments give byte-identical files, whatever the number of workers.
"""
import argparse
import os
import sys
import time

from ..errors import REPORTED_ERRORS
from .dataset_writer import DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL, generate_dataset
from .keypoint_subset import SUBSETS, write_keypoint_subset
from .scenes import DEFAULT_IMAGE_SIZE, DEFAULT_MAX_PEOPLE


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Generate the synthetic COCO-format keypoint dataset "
                                                 "(articulated mannequins on textured backgrounds).")
    parser.add_argument("--out", default="data/synthetic",
                        help="output root; gets annotations/ and images/ (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same files (default: 0)")
    parser.add_argument("--train", type=int, default=DEFAULT_NUM_TRAIN,
                        help="number of train2017 images (default: %(default)s)")
    parser.add_argument("--val", type=int, default=DEFAULT_NUM_VAL,
                        help="number of val2017 images (default: %(default)s)")
    parser.add_argument("--image-size", type=int, nargs=2, default=list(DEFAULT_IMAGE_SIZE), metavar=("MIN", "MAX"),
                        help="each image side is drawn uniformly from MIN..MAX pixels (default: %(default)s)")
    parser.add_argument("--max-people", type=int, default=DEFAULT_MAX_PEOPLE,
                        help="most labelled people per image, 1..5 (default: %(default)s)")
    parser.add_argument("--no-side-colours", dest="side_colours", action="store_false",
                        help="paint left and right limbs alike (mirror-consistent labels: use this when training "
                             "with flip augmentation or testing with flips); default: warm left, cool right")
    parser.add_argument("--layout", choices=sorted(SUBSETS), default=None,
                        help="keep only the joints of this keypoint layout (ten_joints: the layout of "
                             "experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml); default: all 17")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="rendering processes; the output does not depend on it "
                             "(default: %(default)s = the CPU cores, at most 4)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        paths = generate_dataset(args.out, seed=args.seed, num_train=args.train, num_val=args.val,
                                 image_size=tuple(args.image_size), max_people=args.max_people,
                                 side_colours=args.side_colours, workers=args.workers, progress=True)
        if args.layout:
            write_keypoint_subset(args.out, SUBSETS[args.layout])
    except (*REPORTED_ERRORS, FileExistsError) as error:  # e.g. --out holds another dataset
        sys.exit(f"error: {error}")
    seconds = time.perf_counter() - start
    total = args.train + args.val
    print(f"{total} images in {seconds:.1f} s ({1000 * seconds / max(total, 1):.1f} ms per image)")
    for split, path in paths.items():
        print(f"{split}: {path}")

