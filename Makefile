# Set-up and everyday jobs. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
# PyTorch's own index of CPU-only wheels: on PyPI a Linux torch pulls ~20 CUDA packages.
# Where that index cannot be reached (an offline mirror, a local wheel), pip's own index is used.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.poselift-installed

.PHONY: demo test test-all install clean

$(STAMP): pyproject.toml requirements-video.txt
	@$(PYTHON) scripts/check_python.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the pinned CPU build of torch first, so that nothing pulls CUDA packages
	$(BIN)/python -m pip install --quiet --timeout 10 --retries 0 --index-url "$(TORCH_INDEX)" "$(TORCH)" \
	|| $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test,export]"
	# video stack: PyAV, OpenCV, and MediaPipe BlazePose without its optional heavy dependencies
	$(BIN)/python -m pip install --quiet -r requirements-video.txt
	$(BIN)/python -m pip install --quiet --no-deps mediapipe==0.10.21
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/poselift demo --out poselift-demo --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or not slow"

clean:
	rm -rf $(VENV) poselift-demo .pytest_cache
