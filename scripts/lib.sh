# Shared set-up for scripts/test and scripts/demo: system packages, Rust, the Python venv.
# Sourced, not run. Works as root or through sudo, on Debian and Ubuntu.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ssotray-target}"
export CARGO_PROFILE_DEV_DEBUG=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages that are missing, with one apt-get update at most.
need_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

need_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  if ! command -v cargo >/dev/null; then
    say "installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "$HOME/.cargo/env"
  fi
}

# The Python venv with boto3 (botocore) that the reader tests run.
need_venv() {
  VENV="${SSOTRAY_VENV:-$HOME/.cache/ssotray/venv}"
  if ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
    say "creating the Python venv with boto3 in $VENV"
    python3 -m venv "$VENV" 2>/dev/null || { need_packages python3-venv; python3 -m venv "$VENV"; }
    "$VENV/bin/pip" install -q --disable-pip-version-check boto3
  fi
  export SSOTRAY_TEST_PYTHON="$VENV/bin/python"
}

build_bins() {
  say "building (target dir $CARGO_TARGET_DIR)"
  (cd "$ROOT" && cargo build --locked --workspace --bins)
}
