# Shared set-up for every script (run, test, demo, package, cross, fuzz, bench): system packages,
# Rust, the Python venv.
# Sourced, not run. Works as root or through sudo, on Debian and Ubuntu.
#
# The scripts: run (the README's main job: the tray app, real or --demo), test (the README's test
# command; .ci/run calls it; it builds the packages and the clean root, after a short fuzzing run),
# package (the .deb and .rpm into dist/, or the Windows zip and installer), fuzz, demo (the engine
# in a terminal against the simulator), bench and cross all source this file. It installs apt
# packages when missing, Rust, the boto3 venv and tauri-cli; holds the release flags
# (RELEASE_PACKAGES, release_env, which scripts/run and scripts/package share); and makes the clean
# Debian root in ~/.cache/ssotray/clean-root-<codename>.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ssotray-target}"
export CARGO_PROFILE_DEV_DEBUG=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf '==> %s\n' "$*" >&2; }

# These scripts keep their caches (venv, npm packages, tauri-cli, the Debian root) in
# ~/.cache/ssotray, which is also where ssotray keeps its sockets when there is no
# $XDG_RUNTIME_DIR (root over ssh, a container). ssotray refuses a socket directory that is not the
# user's own with mode 0700, so the directory is made (or kept) that way here.
mkdir -p "$HOME/.cache/ssotray"
chmod 700 "$HOME/.cache/ssotray"

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

# The AWS SDK for JavaScript v3 (STS client and the default credential chain) that the
# credential-server tests run under node, kept in ~/.cache/ssotray (outside the clone).
JS_SDK_VERSION=3.1177.0
need_js_sdk() {
  local dir="$HOME/.cache/ssotray/js-sdk"
  # Debian's nodejs and npm, unless a Node.js (with its npm) is there already.
  { command -v node && command -v npm; } >/dev/null || need_packages nodejs npm
  if ! grep -qs "\"version\": \"$JS_SDK_VERSION\"" "$dir/node_modules/@aws-sdk/client-sts/package.json"; then
    say "installing @aws-sdk/client-sts $JS_SDK_VERSION from npm into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@aws-sdk/client-sts@$JS_SDK_VERSION" >/dev/null
  fi
  export SSOTRAY_TEST_NODE_MODULES="$dir/node_modules"
}

build_bins() {
  say "building (target dir $CARGO_TARGET_DIR)"
  (cd "$ROOT" && cargo build --locked --workspace --bins)
}

# tauri-cli 2, for the packages: the npm build of it (@tauri-apps/cli, prebuilt; seconds instead of
# the quarter of an hour `cargo install tauri-cli` takes on 2 cores), kept in ~/.cache/ssotray.
TAURI_CLI_VERSION=2.12.5
need_tauri_cli() {
  local dir="$HOME/.cache/ssotray/tauri-cli"
  TAURI="$dir/node_modules/.bin/tauri"
  "$TAURI" --version 2>/dev/null | grep -qx "tauri-cli $TAURI_CLI_VERSION" && return 0
  command -v npm >/dev/null || need_packages nodejs npm
  say "installing tauri-cli $TAURI_CLI_VERSION from npm into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@tauri-apps/cli@$TAURI_CLI_VERSION" >/dev/null
  "$TAURI" --version >/dev/null
}

# Release builds (scripts/run, scripts/package) keep this machine's paths out of the binaries:
# the target dir (build scripts' OUT_DIR) and the cargo registry (panic locations of
# dependencies). The clone's own path never reaches rustc (cargo passes workspace sources by
# relative path), and leaving it out keeps these flags the same for every clone, so a fresh clone
# reuses the release build. The package test checks no installed file names any of the three.
# What a release build selects, beyond what Tauri's own `cargo build` passes: both binaries in one
# run. Building either alone would resolve other features for their shared dependencies and
# compile those again (cargo unifies features over the packages of one run).
RELEASE_PACKAGES=(--locked -p ssotray-app -p ssotray-cli)
release_env() {
  export RUSTFLAGS="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/usr/src/cargo --remap-path-prefix=$CARGO_TARGET_DIR=/usr/src/ssotray/target"
}

# A clean root of this machine's Debian release (debootstrap --variant=minbase) for the package
# tests, made once and kept in ~/.cache/ssotray (outside the clone): each test installs the .deb
# into a fresh copy. Only what a user's shell brings (bash-completion, man-db) is added, and the
# host's apt sources, so the dependencies come from the same archive as the build's.
need_clean_root() {
  local codename mirror
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:?}")"
  export SSOTRAY_CLEAN_ROOT="${SSOTRAY_CLEAN_ROOT:-$HOME/.cache/ssotray/clean-root-$codename}"
  [ -f "$SSOTRAY_CLEAN_ROOT/.ssotray-clean-root" ] && return 0
  need_packages debootstrap
  # The host's first archive (deb822 or one-line sources), not its security archive.
  mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\).*/\1/p' | grep -v security | head -1)"
  [ -n "$mirror" ] || mirror="$(sed -n 's/^deb  *\(\[[^]]*\] *\)\?\([^ ]*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1)"
  say "making a clean $codename root in $SSOTRAY_CLEAN_ROOT from $mirror (once; about a minute)"
  as_root rm -rf "$SSOTRAY_CLEAN_ROOT.new"
  mkdir -p "$(dirname "$SSOTRAY_CLEAN_ROOT")"
  as_root debootstrap --variant=minbase --include=bash-completion,man-db "$codename" \
    "$SSOTRAY_CLEAN_ROOT.new" "$mirror" > "$(dirname "$SSOTRAY_CLEAN_ROOT")/debootstrap.log" 2>&1 ||
    { cat "$(dirname "$SSOTRAY_CLEAN_ROOT")/debootstrap.log" >&2; return 1; }
  as_root rm -f "$SSOTRAY_CLEAN_ROOT.new/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && as_root cp "$f" "$SSOTRAY_CLEAN_ROOT.new$f"
  done
  as_root touch "$SSOTRAY_CLEAN_ROOT.new/.ssotray-clean-root"
  as_root rm -rf "$SSOTRAY_CLEAN_ROOT"
  as_root mv "$SSOTRAY_CLEAN_ROOT.new" "$SSOTRAY_CLEAN_ROOT"
}

# The cross toolchain for the Windows and macOS builds (../shared/cross-platform.md): Debian's
# rustc-web with its library source (std is built for each target, -Zbuild-std), mingw-w64 and
# Wine 8 for Windows. Its target dir and the Wine prefix are kept outside the clone.
CROSS_TARGET_DIR="${SSOTRAY_CROSS_TARGET_DIR:-$HOME/.cache/ssotray-cross}"
WINDOWS=x86_64-pc-windows-gnu
need_cross() {
  need_packages rustc-web rust-web-src cargo-web gcc-mingw-w64-x86-64-posix \
    binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev wine64 libz-mingw-w64
  cross_env
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    say "making the Wine prefix $WINEPREFIX (once)"
    mkdir -p "$WINEPREFIX"
    /usr/lib/wine/wine64 wineboot -i >/dev/null 2>&1
    /usr/lib/wine/wineserver -w
  fi
  # Wine 8.0 has no bcryptprimitives.dll (ProcessPrng), which Rust's std imports.
  local dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
  if [ ! -f "$dll" ] || [ "$ROOT/scripts/platforms/processprng.c" -nt "$dll" ]; then
    x86_64-w64-mingw32-gcc-posix -shared -O2 -o "$dll" "$ROOT/scripts/platforms/processprng.c" -ladvapi32
  fi
}

# The environment of the cross builds and of the Windows tests (Wine's prefix and settings).
cross_env() {
  export WINEPREFIX="${SSOTRAY_WINEPREFIX:-$HOME/.cache/ssotray/wine}" WINEDEBUG=-all \
    WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
  export SSOTRAY_WINDOWS_BIN="$CROSS_TARGET_DIR/$WINDOWS/debug"
}

# cargo with Debian's rustc-web for another target (the target dir and flags are its own, so
# the Linux build keeps its cache). `--cfg wine` marks the Windows tests' Wine-only limits.
xcargo() {
  env CARGO_TARGET_DIR="$CROSS_TARGET_DIR" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
    RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc-posix \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/usr/lib/wine/wine64 \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="--cfg wine" \
    CC_aarch64_apple_darwin="$ROOT/scripts/platforms/cc-standin" AR_aarch64_apple_darwin=ar \
    CC_x86_64_apple_darwin="$ROOT/scripts/platforms/cc-standin" AR_x86_64_apple_darwin=ar \
    CXX_aarch64_apple_darwin="$ROOT/scripts/platforms/cc-standin" CXX_x86_64_apple_darwin="$ROOT/scripts/platforms/cc-standin" \
    /usr/bin/cargo "$@"
}
