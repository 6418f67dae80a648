# The two commands of the README, and the pieces they are made of.
#   make lab    set up (once), then open the course in JupyterLab
#   make test   set up (once), then run the whole test suite
#   make test-fast   every unit check, contract and hint, minutes faster (not the tests marked slow)
# Each step is safe to run again. Without make, see README.md for the plain commands.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
WORK   ?= my-work
PORT   ?= 8888

.PHONY: lab test test-fast setup data generate check lint format browser-deps sandbox-deps shellcheck-deps axe-core clean-venv

# Developers get both distributions of this repository, editable: the learner's (pyproject.toml) and
# the grader's (grader/pyproject.toml: grading, exports, benchmarks, authoring, the course source).
$(VENV)/.installed: pyproject.toml setup.py grader/pyproject.toml grader/setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -e ./grader
	touch $@

setup: $(VENV)/.installed

data: setup
	$(PY) -m mnistlib data fetch

# Learners work on copies of the student release in $(WORK)/: existing copies are never overwritten.
# JupyterLab is started inside $(WORK), so the notebook path is relative to both the current folder
# and the server's root whichever of the two a jupyter_server version resolves it against.
# (--allow-root: in a container one is often root, and JupyterLab refuses root without it.)
# JUPYTER_CONFIG_PATH: a learner's JupyterLab, without nbgrader's instructor tools or the news pop-up
# (mnistlib/learner_jupyter; see mnistlib/course_start.py), and nothing written to your home.
lab: data
	$(PY) -m mnistlib course copy-release $(WORK)
	cd $(WORK) && MALLOC_ARENA_MAX=2 JUPYTER_CONFIG_PATH="$(CURDIR)/mnistlib/learner_jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(abspath $(VENV))/bin/jupyter lab --ServerApp.root_dir=. --port=$(PORT) \
	  $(if $(filter 0,$(shell id -u)),--allow-root) 01-loading-data/01-loading-data.ipynb

generate: setup
	$(PY) -m mnistlib course build

check: setup
	$(PY) -m mnistlib course check

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The browser test drives Debian's chromium; install it when we are root and it is missing.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "note: /usr/bin/chromium is missing; the browser test will be skipped (apt-get install chromium)"; fi

# Grading runs learners' kernels in a bubblewrap sandbox (docs/instructor.md, Sandbox); install it as for chromium.
sandbox-deps:
	@if command -v bwrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap; \
	else echo "note: bwrap is missing; grading runs without a sandbox and its tests are skipped (apt-get install bubblewrap)"; fi

# The Gradescope and PrairieLearn exports' shell scripts are checked with shellcheck (tests/export/).
shellcheck-deps:
	@if command -v shellcheck >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck; \
	else echo "note: shellcheck is missing; the export scripts' shellcheck tests will be skipped (apt-get install shellcheck)"; fi

# The accessibility check injects axe-core (from npm) into each notebook's page; kept in build/ (git-ignored).
# AXE_VERSION must match tests/test_browser.py, which installs it itself when this step did not.
AXE_VERSION := 4.14.1
axe-core:
	@if [ -f build/axe-core/node_modules/axe-core/axe.min.js ] \
	  && grep -q '"version": "$(AXE_VERSION)"' build/axe-core/node_modules/axe-core/package.json; then :; \
	elif command -v npm >/dev/null; then \
	  npm install --prefix build/axe-core --no-save --no-audit --no-fund axe-core@$(AXE_VERSION); \
	else echo "note: npm is missing; the accessibility check will be skipped (apt-get install npm)"; fi

# Both run on two workers, one per core (pytest-xdist; tests/conftest.py keeps what shares a set-up on
# one worker). Four workers were measured slower on 2 cores (CONTRIBUTING.md, Tests).
test: data browser-deps sandbox-deps shellcheck-deps axe-core lint
	$(PY) -m pytest -n 2

# The fast tier (CONTRIBUTING.md, Tests): what is left out needs kernels, servers, installs or grading runs.
test-fast: data lint
	$(PY) -m pytest -n 2 -m "not slow"

clean-venv:
	rm -rf $(VENV)
