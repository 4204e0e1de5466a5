"""Generate the synthetic multi-person keypoint dataset (COCO layout) that `make demo` trains on.

    python tools/make_synthetic.py [--train N --val N --out DIR --layout ten_joints ...]

(the same as higherhrnet-synthetic)

The logic lives in higherhrnet.synthetic.cli; --help lists the options.
"""
from higherhrnet.synthetic.cli import main

if __name__ == "__main__":
    main()
