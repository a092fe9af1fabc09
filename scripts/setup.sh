#!/usr/bin/env bash
# The one install command of the README: Debian packages the tests and the model tooling use, then the
# npm dependencies exactly as locked. Works offline except for the npm registry and Debian's mirrors.
# Dependency install scripts run only where package.json "allowScripts" lists them (npm 11):
# better-sqlite3 builds from source against the local Node headers; electron's and onnxruntime-node's
# binary downloads stay off (Electron is never launched here; ONNX Runtime's CPU build ships in the package).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  chromium  # end-to-end tests (driven by playwright-core; no browser download)
  python3-torch python3-onnx    # PyTorch reference, training, export, parity checks (/usr/bin/python3)
  python3-numpy python3-scipy python3-skimage
  python3-pil python3-tifffile  # plain-image fixtures and references (ihc.png, retina.jpg ... as PNG/JPEG/TIFF); deltaE reference
  python3-nibabel python3-pydicom   # real volumes; DICOM reference decoder
  python3-yaml python3-cryptography # release exporter: taming's model.yaml; Ed25519 pack signing
  mricron-data insighttoolkit5-examples   # real public MRI used by HealthGPT-nano and the fixtures
  dcmtk dicom3tools             # dcmdump / dciodvfy validate exported DICOM; getscu/movescu: PACS bench peers
  orthanc orthanc-dicomweb      # the real PACS the test/main/pacs tests start on 127.0.0.1
  g++ make python3              # better-sqlite3 builds from source
  iproute2                      # `ss`: the no-outbound-network test inspects the service's sockets
)

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    [[ "$p" == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  fi
else
  echo "Not a Debian/Ubuntu system: install the equivalents of: ${DEBIAN_PACKAGES[*]}" >&2
fi

npm ci
