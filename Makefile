# Two commands do all set-up on a fresh machine:  make demo   and   make test
# Both create the virtualenv .venv themselves (torch first, from the CPU wheel, then the requirements).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 2

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

demo: $(STAMP)
	@echo "make demo: the embedded-default demo is not built yet (issue 7); run make test meanwhile."

clean-venv:
	rm -rf $(VENV)
