# Two commands do all set-up on a fresh machine:  make demo   and   make test
# Both create the virtualenv .venv themselves from the locked environment requirements.lock: torch first,
# from the CPU wheel, then every other package at the exact version the fixtures were checked with.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
export OMP_NUM_THREADS ?= 2

# The lock's two deliberate pins. torch: the CPU wheel on the project machines (a bare "torch" would fetch a
# multi-GB CUDA build). OpenCV: the release the reference fixtures were made with; warpAffine rounds
# differently in 5.1, so a newer one is a deliberate upgrade: make lock OPENCV_VERSION=..., then make test-parity.
TORCH_VERSION := 2.13.0
OPENCV_VERSION ?= 5.0.0.93
PARITY_THREADS ?= 1 2

DEMO_CFG := experiments/synthetic/higher_hrnet/w16_192_demo.yaml
DEMO_RUN := output/coco_kpt/pose_higher_hrnet/w16_192_demo

.PHONY: venv test test-fast test-parity machine lock demo demo-train clean-venv

venv: $(STAMP)

$(STAMP): $(LOCK) setup.py
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $$(grep -E '^(pip|setuptools)==' $(LOCK))
	$(PY) -m pip install torch==$(TORCH_VERSION)
	$(PY) -m pip install -r $(LOCK)
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

# The quick loop while developing: no subprocess runs of the tools, no fixture comparisons.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not parity" tests

# The fixture comparisons (pytest marker "parity") at each thread count of PARITY_THREADS.
test-parity: $(STAMP)
	@for threads in $(PARITY_THREADS); do \
		echo "== parity tests, OMP_NUM_THREADS=$$threads"; \
		OMP_NUM_THREADS=$$threads $(PY) -m pytest -q -m parity tests || exit 1; \
	done

# What decides the last bits of the numbers: package versions, CPU kind and flags, threads.
machine: $(STAMP)
	$(PY) -m pip freeze --all --exclude-editable
	$(PY) -c "from higherhrnet.engine.machine import machine_summary; print(machine_summary())"
	@echo "OMP_NUM_THREADS=$(OMP_NUM_THREADS)"

# Re-resolve requirements.txt's ranges in a scratch venv and write every version into requirements.lock.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip setuptools
	.venv-lock/bin/python -m pip install --quiet torch==$(TORCH_VERSION)
	.venv-lock/bin/python -m pip install --quiet -r requirements.txt opencv-python-headless==$(OPENCV_VERSION)
	{ echo "# The locked environment of make test / make demo / CI (Python 3.11, Linux x86-64), written by make lock."; \
	  echo "# Exact versions of every package, dependencies included; torch is installed first, from the CPU wheel."; \
	  echo "# Edit requirements.txt (ranges) and rerun make lock; never edit this file by hand."; \
	  .venv-lock/bin/python -m pip freeze --all --exclude-editable | sed -e 's/+cpu$$//'; } > $(LOCK)
	rm -rf .venv-lock
	@echo "$(LOCK) rewritten (OpenCV $(OPENCV_VERSION)). Bit-exactness is exactness to these kernels:"
	@echo "rerun the fixture comparisons at 1 and 2 threads (make test-parity), then the whole suite (make test)."

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
