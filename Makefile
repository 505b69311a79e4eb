# bb_agent developer commands. Everything runs from the repo's .venv.
#   make setup   create/refresh .venv (idempotent; seconds when nothing changed)
#   make test    set up if needed, then run the whole suite
#   make setup-bridges  the doors' stacks and test peers (CI runs it)
#   make lint    ruff + import-linter only
#   make demo    set up if needed, bring the stack up, run the scripted scenario
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup setup-bridges test lint bench bench-tiers bench-learn demo clean
setup:
	@scripts/setup.sh

# The doors' protocol stacks and test peers (slixmpp; prosody via apt when root).
setup-bridges: setup
	@scripts/setup_bridges.sh

test: setup
	@source scripts/ros_env.sh && \
	  echo "[test] ROS_DOMAIN_ID=$$ROS_DOMAIN_ID ROS_AUTOMATIC_DISCOVERY_RANGE=$$ROS_AUTOMATIC_DISCOVERY_RANGE ROS_LOG_DIR=$$ROS_LOG_DIR" && \
	  $(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks write bench/results/<name>.json (not a test; numbers vary by machine).
bench: setup
	@source scripts/ros_env.sh && \
	  $(VENV)/bin/bb-agent bench checker --out bench/results/checker.json >/dev/null && \
	  $(VENV)/bin/bb-agent bench soundness --out bench/results/soundness.json >/dev/null && \
	  $(VENV)/bin/bb-agent bench decode --out bench/results/decode.json >/dev/null && \
	  $(VENV)/bin/bb-agent bench runtime --out bench/results/runtime.json >/dev/null && \
	  $(VENV)/bin/bb-agent bench stale --out bench/results/stale.json >/dev/null && \
	  $(VENV)/bin/bb-agent bench http --out bench/results/http.json >/dev/null && \
	  $(VENV)/bin/bb-agent bench doors --out bench/results/doors.json >/dev/null && \
	  $(PY) -m bench.table bench/results

# The pretrained tier against the fast tier (needs models/smollm2 and the converted base;
# ~1 h on the 2-core CPU: an ONNX export of the 135M model and test_natural through 5 chains).
bench-tiers: setup
	@source scripts/ros_env.sh && \
	  $(VENV)/bin/bb-agent bench tiers --out bench/results/tiers.json >/dev/null && \
	  $(PY) -m bench.table bench/results

# One learn -> gate cycle (bench/learn.py): a new phrasing taught from a ledger, then the
# full promotion gate against the shipped model (~10 min on the 2-core CPU).
bench-learn: setup
	@source scripts/ros_env.sh && \
	  $(VENV)/bin/bb-agent bench learn --out bench/results/learn.json >/dev/null && \
	  $(PY) -m bench.table bench/results

# The main job: the whole stack (default model + sim robot), the scripted scenario, a
# readable trace and a report folder (plan graphs, V_s timeline); exits 0 when every step
# ends as expected.
demo: setup
	@source scripts/ros_env.sh && \
	  $(VENV)/bin/bb-agent demo --report demo_report

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/lint-imports

clean:
	rm -rf build install log dist bb_msgs/build .pytest_cache .ruff_cache .hypothesis
