# Everything runs from .venv, created on first use; only python3 is assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make serve` installs only what serving needs (the `local` extra); the test,
# lint and bench targets install the rest (`dev`, which includes `local`).
SERVE_STAMP := $(VENV)/.installed-local
DEV_STAMP := $(VENV)/.installed-dev

# Use the local provider mirror when this machine has one; a plain init works elsewhere.
ifneq ($(wildcard /opt/tf-plugins),)
export TF_CLI_CONFIG_FILE := $(CURDIR)/.ci/terraform.rc
endif

.PHONY: serve test lint bench package docs clean browser screenshots

$(SERVE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[local]'
	touch $(SERVE_STAMP)

$(DEV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(SERVE_STAMP) $(DEV_STAMP)

serve: $(SERVE_STAMP)
	$(BIN)/serverless-pypi serve $(ARGS)

test: $(DEV_STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests drive the distribution's Chromium (Debian: chromium, chromium-driver);
# installed when missing and run as root (CI), otherwise say how (the tests then skip, and
# fail under CI=true).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "make browser: the browser tests need chromium and chromium-driver (apt-get)"; fi

# Rewrites docs/web-home.png and docs/web-project.png (the README shows them).
screenshots: $(DEV_STAMP) browser
	SERVERLESS_PYPI_SCREENSHOTS=docs $(BIN)/python -m pytest tests/e2e/test_e2e_browser.py -q

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(DEV_STAMP)
	$(BIN)/python tests/bench/run.py $(ARGS)

docs:
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg

package:
	$(PYTHON) src/lambda_build.py --out build

clean:
	rm -rf $(VENV) build .pytest_cache
