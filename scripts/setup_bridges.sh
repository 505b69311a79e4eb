#!/usr/bin/env bash
# make setup-bridges: the doors' protocol stacks and their real test peers.
#   pip (into .venv): requirements/bridges.txt (slixmpp for the chat door)
#   Debian packages (when run as root with apt): prosody (the XMPP server the chat tests
#   run on loopback), chromium + chromium-driver (the console's browser test). Without apt/root the packages are skipped with a note, and the tests
#   that need them skip, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
"$VENV/bin/python" -m pip install -q -r requirements/bridges.txt
need=()
command -v prosody >/dev/null || need+=(prosody)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "[setup-bridges] not installed (needs root and apt-get): ${need[*]}"
  fi
fi
echo "[setup-bridges] done: slixmpp $("$VENV/bin/python" -c 'import slixmpp; print(slixmpp.__version__)'), prosody $(command -v prosody >/dev/null && echo yes || echo no), chromium $(command -v chromedriver >/dev/null && echo yes || echo no)"
