# Two commands do all set-up on a fresh machine:  make demo   and   make test
# Both create the virtualenv .venv themselves (torch first, from the CPU wheel, then the requirements).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2

DEMO_CFG := experiments/synthetic/higher_hrnet/w16_192_demo.yaml
DEMO_RUN := output/coco_kpt/pose_higher_hrnet/w16_192_demo

.PHONY: venv test demo demo-train clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

# The main job on the embedded default: generated data, the shipped checkpoint evaluated with tools/valid.py,
# pictures, two minutes of live training with tools/dist_train.py. No GPU, no download.
demo: $(STAMP)
	$(PY) tools/demo_job.py

# The recipe of the shipped checkpoint models/demo/w16_192_demo.pth (about an hour on 2 CPU cores).
demo-train: $(STAMP)
	$(PY) tools/make_synthetic.py --out data/synthetic --seed 0 --train 4000 --val 200
	$(PY) tools/dist_train.py --cfg $(DEMO_CFG) --no-progress TRAIN.VAL_FREQ 1
	$(PY) tools/half_checkpoint.py $(DEMO_RUN)/model_best.pth.tar models/demo/w16_192_demo.pth
	$(PY) tools/valid.py --cfg $(DEMO_CFG) --no-progress TEST.MODEL_FILE models/demo/w16_192_demo.pth

clean-venv:
	rm -rf $(VENV)
