# bb_agent developer commands. Everything runs from the repo's .venv.
#   make setup   create/refresh .venv (idempotent; seconds when nothing changed)
#   make test    set up if needed, then run the whole suite
#   make lint    ruff + import-linter only
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test lint clean
setup:
	@scripts/setup.sh

test: setup
	@source scripts/ros_env.sh && \
	  echo "[test] ROS_DOMAIN_ID=$$ROS_DOMAIN_ID ROS_AUTOMATIC_DISCOVERY_RANGE=$$ROS_AUTOMATIC_DISCOVERY_RANGE ROS_LOG_DIR=$$ROS_LOG_DIR" && \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/lint-imports

clean:
	rm -rf build install log dist bb_msgs/build .pytest_cache .ruff_cache .hypothesis
