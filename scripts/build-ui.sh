#!/usr/bin/env bash
# The console's browser libraries (ECharts, Leaflet) come from npm at the versions package-lock.json
# pins; this installs them when node_modules/ is missing or older than the lock, then copies the
# files the pages load into src/civicgrid/static/vendor/ (git-ignored, like node_modules/).
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=src/civicgrid/static/vendor
STAMP=node_modules/.package-lock.json  # npm rewrites it on every install

up_to_date() {
  [ -f "$STAMP" ] && [ "$STAMP" -nt package.json ] && [ "$STAMP" -nt package-lock.json ]
}

if ! up_to_date; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is missing: the dashboards need ECharts and Leaflet from npm." >&2
    echo "Install Node.js and npm (Debian: sudo apt-get install nodejs npm), then run make install again." >&2
    exit 1
  fi
  echo "Installing the console's browser libraries (npm ci)"
  # ci installs exactly what the lock says; --ignore-scripts: these libraries need no build step.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  touch "$STAMP"
fi

copy() {  # copy SOURCE... DESTINATION_DIR, always: a new version must replace the old whatever the dates
  local target="${*: -1}"
  mkdir -p "$target"
  cp "${@:1:$#-1}" "$target/"
}
copy node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE node_modules/echarts/NOTICE "$VENDOR/echarts"
copy node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/LICENSE "$VENDOR/leaflet"
copy node_modules/leaflet/dist/images/*.png "$VENDOR/leaflet/images"
