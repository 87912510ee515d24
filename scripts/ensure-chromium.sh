#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (with a Chinese font, so screenshots are legible);
# install both when missing and we may (root with apt-get).
set -euo pipefail
have_chromium() { [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1; }
have_cjk_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; }
if have_chromium && have_cjk_font; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium and a Chinese font for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  packages="chromium fonts-wqy-microhei"
  apt-get install -y -q --no-install-recommends $packages >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $packages >/dev/null; }
  exit 0
fi
if have_chromium; then
  echo "No Chinese font found: screenshots will show boxes (sudo apt-get install fonts-wqy-microhei)."
  exit 0
fi
echo "Chromium is not installed: browser tests will be skipped (sudo apt-get install chromium, or set CHROMIUM_PATH)."
if [ "${CI:-}" = "true" ]; then
  exit 1
fi
