#!/usr/bin/env bash
# Installs the system packages the tests use as independent oracles (numpy, PIL) on Debian/Ubuntu.
# Idempotent; uses sudo when not root. The module itself needs none of these.
set -euo pipefail
packages=(python3 python3-numpy python3-pil)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v dotnet >/dev/null || { echo "The .NET SDK (10.0) is required: https://dot.net" >&2; exit 1; }
