# Two commands do all the set-up on a fresh Debian machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# glibc returns large activation buffers to the OS on every call unless told not to (docs/environment.md).
FAST_MALLOC := MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000

.PHONY: run test test-extended test-slow test-all lint docs setup data clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

## The main job needs PyTorch (the [torch] extra); the tests add every extra and the dev tools. The base install
## (`pip install .`: the cost model, the study and the search) and the others are in README.md, "Installs".
$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[torch]'
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

setup: $(STAMP)

## Fashion-MNIST from Debian's package (offline); without root/apt, torchvision downloads it when online.
data:
	@if [ ! -f $(FASHION_MNIST) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	  else \
	    echo "note: dataset-fashion-mnist is not installed (needs root and apt); torchvision will try to download"; \
	  fi; \
	fi

## The main job: train 1.0-SqNxt-23 on Fashion-MNIST and evaluate it on the 10k test images.
run: $(RUN_STAMP) data
	$(FAST_MALLOC) $(VENV)/bin/squeezenext train --config configs/fashion_mnist.yaml

## Lint, format check, type check, then the default (fast) test suite.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint data
	$(VENV)/bin/pytest -q

## The tiers excluded from `make test` (docs/contributing.md lists what each holds and how long it takes).
test-extended: $(STAMP) data
	$(VENV)/bin/pytest -q -m extended

test-slow: $(STAMP) data
	$(VENV)/bin/pytest -q -m slow

test-all: lint data
	$(VENV)/bin/pytest -q -m ''

## Render the README's and the docs' results from the committed JSON (docgen/); `python -m docgen --check` is a test.
docs: $(STAMP)
	$(PY) -m docgen

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
