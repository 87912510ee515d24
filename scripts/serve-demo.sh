#!/usr/bin/env bash
# Serve the demo: the web server in the foreground, one worker beside it; Ctrl-C stops both.
set -euo pipefail
BIN=${BIN:-.venv/bin}
ADDR=${DEMO_ADDR:-127.0.0.1:8000}

"$BIN/civicgrid" worker &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  CivicGrid demo:  http://$ADDR/admin/   ·   API docs: http://$ADDR/api/v1/docs
  Logins (password "demo12345"): admin, center, leader, supervisor, street-1, community-1, grid-1, dept-d-cg
  Stop with Ctrl-C.

MSG
"$BIN/civicgrid" runserver "$ADDR" --noreload
