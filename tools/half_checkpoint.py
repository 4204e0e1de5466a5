"""Store a model's weights as a float16 state dict (half the size), e.g. for the committed demo checkpoint.

python tools/half_checkpoint.py SOURCE DEST
SOURCE: any file the model loader reads (a state dict, model_best.pth.tar, checkpoint.pth.tar, ...).
DEST gets a plain state dict with floating tensors in float16 (integer buffers unchanged); the loader
casts them back to float32 when it reads the file.
"""
import argparse
import sys

import torch


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write a float16 copy of a model's state dict.")
    parser.add_argument("source", help="checkpoint or state-dict file")
    parser.add_argument("dest", help="output .pth file (a float16 state dict)")
    args = parser.parse_args(argv)
    from higherhrnet.models import CheckpointError, read_state_dict
    try:
        state = read_state_dict(args.source)
    except CheckpointError as error:
        sys.exit(f"error: {error}")
    half = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    torch.save(half, args.dest)
    print(f"{args.dest}: {len(half)} tensors in float16")


if __name__ == "__main__":
    main()
