"""Evaluate HigherHRNet: python tools/valid.py --cfg <yaml> [KEY VALUE ...]

The official command line: e.g.
  python tools/valid.py --cfg experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml \\
      TEST.MODEL_FILE models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth [TEST.FLIP_TEST False] \\
      [TEST.SCALE_FACTOR '[0.5, 1.0, 2.0]']
(the same as higherhrnet-valid). The logic lives in higherhrnet.engine.valid_command; --help lists the options.
"""
from higherhrnet.engine.valid_command import main

if __name__ == "__main__":
    main()
