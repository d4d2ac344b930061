# One command to set up and run the course, one to test it. See README.md.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup course prepare doctor fast test test-unit test-quick test-full test-browser lab data clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes (or the environment is new).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11, 4) else "Python 3.11.4 or newer is needed; found " + sys.version.split()[0] + ". Use: make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	$(BIN)/cnn-course install-kernel
	touch $(STAMP)

course: prepare      ## make the checkpoints (once), then run every notebook in full mode; results in build/
	$(BIN)/cnn-course run

prepare: setup       ## train and keep the checkpoints notebooks 03, 05 and 07 load (only those missing)
	$(BIN)/cnn-course prepare

doctor: setup        ## will the course run here? one line per check, the predicted times
	$(BIN)/cnn-course doctor

fast: setup          ## run every notebook in fast mode (a few minutes)
	$(BIN)/cnn-course run --fast

# The notebooks nbval runs exactly as a learner opens them (full mode; nothing trains in them).
AS_OPENED := notebooks/01_data.ipynb notebooks/02_building_blocks.ipynb

# Each test target spells out its whole marker expression (a -m given here replaces the
# one in pyproject.toml's addopts): slow = trains a network or starts a process.
test-unit: setup     ## no training, no kernels, no processes (under a minute)
	$(BIN)/python -m pytest -m "not slow and not notebook and not full and not browser"

test: setup          ## the test suite: helpers, CLI, doctor, checkpoints, every notebook in fast mode (~14 min)
	$(BIN)/python -m pytest -m "not full and not browser"
	CNN_COURSE_OFFLINE=1 $(BIN)/python -m pytest --nbval-lax $(AS_OPENED)

test-quick: setup    ## everything but the notebooks, the full-data claims and the browser (~5 min)
	$(BIN)/python -m pytest -m "not notebook and not full and not browser"

test-full: setup     ## every notebook in full mode on the full dataset, with its claims (~20 min)
	@test -n "$$CNN_COURSE_DATA" || { echo "make test-full needs CNN_COURSE_DATA: a folder prepared with cnn-course fetch-data"; exit 2; }
	$(BIN)/cnn-course fetch-data --from "$$CNN_COURSE_DATA"   # the photos, unpacked where the course reads them
	$(BIN)/python -m pytest -m "full"

# Needs Debian's chromium (apt-get install chromium); never a browser downloaded by Playwright.
test-browser: setup  ## JupyterLab in chromium: notebooks 01 and 08, the pad drawn with the mouse (~2 min)
	$(BIN)/python -m pytest -m "browser" tests/test_browser.py

# JupyterLab stops as root unless told; root is what a container gives, so say so and tell it.
lab: setup           ## open the notebooks in JupyterLab
	@if [ "$$(id -u)" = 0 ]; then \
	  echo "Running as root (as in a container): starting JupyterLab with --allow-root."; \
	  $(BIN)/jupyter lab --allow-root notebooks; \
	else \
	  $(BIN)/jupyter lab notebooks; \
	fi

data: setup          ## fetch everything for offline use into data/
	$(BIN)/cnn-course fetch-data

clean:
	rm -rf build
