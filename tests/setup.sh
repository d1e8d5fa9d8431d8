#!/usr/bin/env bash
# Installs what the tests use as independent oracles and encoders on Debian/Ubuntu: numpy and PIL, dcmtk
# (encoders, dcmdjpeg), dicom3tools (dciodvfy, dcentvfy), pydicom with GDCM, gdcm tools, node for dcmjs, and
# Chromium for the HTML report test; PyTorch for the training code's smoke test; Orthanc with its DICOMweb plugin for
# the PACS round-trip tests and OpenSSH's server for the PowerShell remoting tests (each started by the tests as a plain
# process on a loopback port: the Debian services are stopped and disabled here);
# plus the system codecs the module loads for JPEG-LS (CharLS) and JPEG 2000 (OpenJPEG); Wine (64-bit) for the
# Windows leg (the win-x64 package in a win-x64 PowerShell host) and Mono for the Desktop leg (.NET Framework 4.8 build);
# gcc for the CPUID shim of the CPU-class leg (tests/CpuClass).
# Idempotent; uses sudo when not root. The module itself needs only libcharls2 and libopenjp2-7.
set -euo pipefail
cd "$(dirname "$0")"
packages=(python3 python3-numpy python3-pil dcmtk dicom3tools python3-pydicom python3-gdcm libgdcm-tools
          libcharls2 libopenjp2-7 chromium python3-torch orthanc orthanc-dicomweb openssh-server openssh-client openssl
          wine64 mono-devel gcc libc6-dev)
# node/npm may come from elsewhere (NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
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
  # The package starts a system Orthanc; the tests run their own, so the service must not hold ports or storage.
  if printf '%s\n' "${missing[@]}" | grep -qx orthanc; then
    $SUDO service orthanc stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && { $SUDO update-rc.d orthanc disable >/dev/null 2>&1 || true; }
  fi
  if printf '%s\n' "${missing[@]}" | grep -qx openssh-server; then
    $SUDO service ssh stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && { $SUDO update-rc.d ssh disable >/dev/null 2>&1 || true; }
  fi
fi
# dcmjs for the DICOM-SEG cross-check, pinned by tests/js/package-lock.json.
(cd js && npm ci --no-audit --no-fund --loglevel=error)
# playwright-core (it drives the system Chromium; it never downloads a browser) for the HTML report test.
(cd browser && npm ci --no-audit --no-fund --loglevel=error)
command -v dotnet >/dev/null || { echo "The .NET SDK (10.0) is required: https://dot.net" >&2; exit 1; }
