#!/usr/bin/env bash
# Differential tests of mod_alloc::dhat_compat against dhat 0.3.3, and every
# JSON file both produce loaded into Valgrind's dh_view.html in headless
# Chromium.
#
#   scripts/compat.sh                  # everything: dhat vs ours, then the viewer
#   scripts/compat.sh --dhat-only      # only the real dhat (proves the harness)
#   scripts/compat.sh heap_basic ...   # only the named scenarios
#   scripts/compat.sh --no-viewer ...  # skip the browser step
#
# Scenarios are compat-tests/scenarios/*.rs. Outputs go to artifacts/compat/
# (each run's files, stdout and stderr) and artifacts/viewer/ (screenshots).
# Installs what is missing: a C compiler and binutils, chromium, valgrind,
# nodejs and npm through apt-get (through sudo when not root), and the browser
# driver through npm ci. Ends with "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

runner_args=()
viewer=1
for arg in "$@"; do
    case "$arg" in
        --no-viewer) viewer=0 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) runner_args+=("$arg") ;;
    esac
done

# Up to three attempts, so that one dropped connection does not fail the run.
retrying() { # retrying COMMAND...
    local attempt
    for attempt in 1 2 3; do
        "$@" && return 0
        [ "$attempt" -lt 3 ] || return 1
        echo "compat.sh: attempt $attempt of 3 failed; retrying in $((attempt * 10))s" >&2
        sleep $((attempt * 10))
    done
}

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
apt_updated=0
apt_install() { # apt_install PACKAGE
    if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
        echo "compat.sh: $1 is missing; install it (apt-get install $1)" >&2
        exit 2
    fi
    if [ "$apt_updated" = 0 ]; then retrying $sudo apt-get update -qq; apt_updated=1; fi
    retrying $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

# The scenario unresolved_frames links a small C library (compat-tests/scenarios/native).
command -v "${CC:-cc}" >/dev/null 2>&1 || apt_install gcc
command -v strip >/dev/null 2>&1 && command -v ar >/dev/null 2>&1 || apt_install binutils

if [ "$viewer" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || apt_install chromium
    dpkg -L valgrind 2>/dev/null | grep -q '/dh_view.html$' || apt_install valgrind
    command -v node >/dev/null 2>&1 || apt_install nodejs
    command -v npm >/dev/null 2>&1 || apt_install npm
    # playwright-core is pinned to the last release that runs on Node.js 18, Debian 12's.
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$node_major" -lt 18 ]; then
        echo "compat.sh: the viewer check needs Node.js 18 or later; found $(node --version)" >&2
        exit 2
    fi
    if [ ! -d scripts/viewer/node_modules/playwright-core ]; then
        # The driver only; Debian's chromium is the browser.
        (cd scripts/viewer && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
            retrying npm ci --no-audit --no-fund --loglevel=error) || exit 1
    fi
fi

start=$(date +%s)
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

counts() { # counts TAG FILE -> "passed failed"
    local line
    line=$(grep -E "^$1 passed=[0-9]+ failed=[0-9]+$" "$2" | tail -n 1 || true)
    if [ -z "$line" ]; then echo "0 1"; return; fi
    echo "$line" | sed -E 's/.*passed=([0-9]+) failed=([0-9]+)/\1 \2/'
}

rm -f artifacts/compat/viewer-manifest.json
set +e
cargo run --release --quiet -p compat-tests -- "${runner_args[@]}" 2>&1 | tee "$log"
set -e
read -r p f < <(counts COMPAT-COUNTS "$log")
passed=$((passed + p)); failed=$((failed + f))

if [ "$viewer" = 1 ]; then
    # The native profiler's call-site file (`ModAlloc::write_dhat_json` with no dhat-style
    # session) has no dhat counterpart to compare with, so only the viewer checks it. The
    # `dhat_json` example writes it, and heap files beside it.
    native="$(pwd)/artifacts/compat/native/dhat_json"
    native_target="$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)/compat-native"
    rm -rf "$native" && mkdir -p "$native"
    (cd "$native" && RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C force-frame-pointers=yes" \
        cargo run --release --quiet --features dhat-compat --example dhat_json \
        --manifest-path "$OLDPWD/Cargo.toml" --target-dir "$native_target" >/dev/null)
    native_files=("$native"/*.json)
    if [ -f artifacts/compat/viewer-manifest.json ]; then
        set +e
        node scripts/viewer/check.mjs artifacts/compat/viewer-manifest.json artifacts/viewer \
            "${native_files[@]}" 2>&1 | tee "$log"
        set -e
        read -r p f < <(counts VIEWER-COUNTS "$log")
    else
        echo "compat.sh: no viewer manifest was written" >&2
        p=0; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
fi

echo "compat.sh: took $(( $(date +%s) - start ))s after installs"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
