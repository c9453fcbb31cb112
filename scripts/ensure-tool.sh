#!/usr/bin/env bash
# Installs a Debian package when the command it provides is missing.
# Usage: scripts/ensure-tool.sh COMMAND PACKAGE
set -euo pipefail
command_name=$1
package=$2
if command -v "$command_name" >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "error: '$command_name' is missing and installing Debian package '$package' needs root; run: apt-get install -y $package" >&2
    exit 1
  fi
fi
echo "installing $package (for $command_name)…" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
command -v "$command_name" >/dev/null 2>&1 || { echo "error: installed $package but '$command_name' is still missing" >&2; exit 1; }
