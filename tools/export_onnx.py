"""Export HigherHRNet to ONNX and check it against PyTorch: python tools/export_onnx.py --cfg <yaml> --weights <pth>

Examples:
  python tools/export_onnx.py --cfg experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml \\
      --weights models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth --output w32_512.onnx \\
      --images data/coco/images/val2017
  ... --with-postprocess          (stage averaging + max-pool NMS in the graph)
The exported graph has a dynamic batch, height and width. The logic lives in higherhrnet.export.cli.
"""
import sys

from higherhrnet.export.cli import main

if __name__ == "__main__":
    sys.exit(main())
