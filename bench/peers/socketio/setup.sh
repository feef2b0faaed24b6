#!/usr/bin/env bash
# Installs the Socket.IO peer's pinned dependencies (package-lock.json) into node_modules.
# Needs node >= 18 and npm. Safe to run again: npm ci starts from the lockfile each time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v npm >/dev/null || { echo "error: npm not found; install Node.js 18+ (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
