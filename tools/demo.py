"""Poses on your own images, folders, videos or webcam: python tools/demo.py --cfg <yaml> --weights <pth> --input ...

Examples:
  python tools/demo.py --cfg experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml \\
      --weights models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth --input photos/ --output output/demo
  ... --input clip.mp4            (overlay video + results json)
  ... --input 0 --show            (webcam 0, window if a display exists)
  ... --backend onnx --onnx model.onnx --input photos/
Trailing KEY VALUE pairs override the config, as in tools/valid.py. The logic lives in higherhrnet.demo
(also `python -m higherhrnet.demo`).
"""
import sys

from higherhrnet.demo import main

if __name__ == "__main__":
    sys.exit(main())
