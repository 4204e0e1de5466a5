"""Train HigherHRNet: python tools/dist_train.py --cfg <yaml> [KEY VALUE ...]

  python tools/dist_train.py --cfg ...                      one process per visible GPU, or one CPU process
  torchrun --nproc_per_node=N tools/dist_train.py --cfg ...  one process per device
(the same as higherhrnet-train). The logic lives in higherhrnet.engine.train_command; --help lists the options.
"""
from higherhrnet.engine.train_command import main

if __name__ == "__main__":
    main()
