# bb_agent developer commands. Everything runs from the repo's .venv.
#   make setup   create/refresh .venv (idempotent; seconds when nothing changed)
#   make test    set up if needed, then run the whole suite
#   make lint    ruff + import-linter only
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test lint bench clean
setup:
	@scripts/setup.sh

test: setup
	@source scripts/ros_env.sh && \
	  echo "[test] ROS_DOMAIN_ID=$$ROS_DOMAIN_ID ROS_AUTOMATIC_DISCOVERY_RANGE=$$ROS_AUTOMATIC_DISCOVERY_RANGE ROS_LOG_DIR=$$ROS_LOG_DIR" && \
	  $(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks write bench/results/<name>.json (not a test; numbers vary by machine).
bench: setup
	@source scripts/ros_env.sh && \
	  $(VENV)/bin/bb-agent bench checker --out bench/results/checker.json >/dev/null && \
	  $(VENV)/bin/bb-agent bench decode --out bench/results/decode.json >/dev/null && \
	  $(PY) -m bench.table bench/results

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/lint-imports

clean:
	rm -rf build install log dist bb_msgs/build .pytest_cache .ruff_cache .hypothesis
