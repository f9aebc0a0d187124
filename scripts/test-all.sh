#!/usr/bin/env bash
# The project's one test command: `./scripts/test-all.sh`.
#
# On a fresh Debian machine with rustup's stable toolchain and gcc, it first installs what the
# tests need (toolchains, targets, Debian packages), each only when missing, and then runs
# every step below in order. It stops at the first failing step and ends with the line
# `N passed, M failed`.
#
#   ./scripts/test-all.sh                 run every step
#   ./scripts/test-all.sh clippy msrv     run only the named steps (after setup)
#   ./scripts/test-all.sh --list          list the steps
#   KEEP_GOING=1 ./scripts/test-all.sh    run every step even after one fails
#   KEEP_TARGETS=1 ./scripts/test-all.sh  keep every build directory (see "Disk" below)
#
# Adding a step: write a `step_<name>` function below and add `<name>` to STEPS. The last
# four steps call scripts of their own, which can also be run alone.
#
# Builds use $CARGO_TARGET_DIR (default: target/). Tests of the call-site features are built
# with frame pointers, as the crate asks of its users, in a separate directory below it so the
# two sets of flags never invalidate each other's builds.
#
# Disk: kept whole, a full run's build directories add up to about 6 GiB, more than some
# machines have free. So each build directory is deleted once no later step of the run
# builds into it, and incremental compilation (of no use to a one-off run) is off unless
# CARGO_INCREMENTAL is set. A full run then holds about 2 GiB of builds at most. Set
# KEEP_TARGETS=1 to keep them, for faster reruns of single steps.
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=(
    fmt
    clippy
    doc
    features
    test_default
    test_all_features
    test_release
    msrv
    cross_check
    quickstart
    bench
    cross_aarch64
    windows_wine
    compat
    reliability
)

# The MSRV is declared once, in Cargo.toml.
MSRV=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
CROSS_TARGETS=(x86_64-pc-windows-msvc x86_64-pc-windows-gnu aarch64-apple-darwin aarch64-unknown-linux-gnu)
# Targets only type-checked here (aarch64 Linux is built and run by scripts/cross-aarch64.sh).
CHECK_TARGETS=(x86_64-pc-windows-msvc x86_64-pc-windows-gnu aarch64-apple-darwin)
DEBIAN_PACKAGES=(qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross wine64 gcc-mingw-w64-x86-64-win32
    valgrind chromium)
FEATURES=(counters backtraces symbolicate dhat-compat)

TARGET_ROOT=${CARGO_TARGET_DIR:-target}
case "$TARGET_ROOT" in
    /*) ;;
    *) TARGET_ROOT="$(pwd)/$TARGET_ROOT" ;;
esac
FRAME_POINTER_TARGET="$TARGET_ROOT/frame-pointers"
FRAME_POINTER_FLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C force-frame-pointers=yes"

# Read by scripts/reliability.sh too, which prunes after each of its legs.
if [ "${KEEP_TARGETS:-0}" = 1 ]; then
    export PRUNE_TARGETS=0
else
    export PRUNE_TARGETS=1
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

# ---------------------------------------------------------------------------------------------
# Output helpers

say() { printf '%s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
    printf 'test-all.sh: %s\n' "$*" >&2
    exit 1
}

# Print a command, then run it.
run() {
    printf '    $ %s\n' "$*"
    "$@"
}

# Like `run`, for installs, which go over the network: up to three attempts, so that one
# dropped connection does not fail the whole run.
run_retrying() {
    local attempt
    for attempt in 1 2 3; do
        run "$@" && return 0
        if [ $attempt -lt 3 ]; then
            note "attempt $attempt of 3 failed; retrying in $((attempt * 10))s"
            sleep $((attempt * 10))
        fi
    done
    return 1
}

# ---------------------------------------------------------------------------------------------
# Setup: install what the tests need, each piece only when missing.

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# Command output is captured before grep reads it: with pipefail, `producer | grep -q` can
# fail when grep exits early and the producer dies of SIGPIPE.
have_toolchain() {
    local toolchains
    toolchains=$(rustup toolchain list)
    grep -q "^$1-" <<<"$toolchains"
}

ensure_rust() {
    command -v rustup >/dev/null || die "rustup is required (https://rustup.rs)"
    [ -n "$MSRV" ] || die "no rust-version line found in Cargo.toml"

    # The default toolchain runs every cargo step; it needs rustfmt and clippy.
    local installed
    installed=$(rustup component list --installed)
    for component in rustfmt clippy; do
        if ! grep -q "^$component" <<<"$installed"; then
            run_retrying rustup component add "$component"
        fi
    done

    local targets
    targets=$(rustup target list --installed)
    for target in "${CROSS_TARGETS[@]}"; do
        if ! grep -qx "$target" <<<"$targets"; then
            run_retrying rustup target add "$target"
        fi
    done

    if ! have_toolchain stable; then
        run_retrying rustup toolchain install stable --profile minimal
    fi
    if ! have_toolchain "$MSRV"; then
        run_retrying rustup toolchain install "$MSRV" --profile minimal
    fi
    # The MSRV step also type-checks the Windows MSVC build, whose code (the system unwinder,
    # the module list, file mapping) compiles only for Windows. pdb is built on every target.
    targets=$(rustup +"$MSRV" target list --installed)
    if ! grep -qx x86_64-pc-windows-msvc <<<"$targets"; then
        run_retrying rustup target add --toolchain "$MSRV" x86_64-pc-windows-msvc
    fi

    # Nightly carries Miri and the std sources (used by scripts/reliability.sh).
    if ! have_toolchain nightly; then
        run_retrying rustup toolchain install nightly --profile minimal --component miri,rust-src
    else
        installed=$(rustup +nightly component list --installed)
        for component in miri rust-src; do
            if ! grep -q "^$component" <<<"$installed"; then
                run_retrying rustup component add --toolchain nightly "$component"
            fi
        done
    fi
}

deb_installed() {
    local status
    status=$(dpkg -s "$1" 2>/dev/null) || return 1
    grep -q '^Status: install ok installed' <<<"$status"
}

ensure_debian_packages() {
    if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
        note "not a Debian system: install ${DEBIAN_PACKAGES[*]} (or equivalents) yourself"
        return 0
    fi
    local missing=()
    for package in "${DEBIAN_PACKAGES[@]}"; do
        deb_installed "$package" || missing+=("$package")
    done
    # The viewer check runs under Node.js; any install of it will do (Debian's, NodeSource's,
    # nvm's), so these two go by command rather than by package.
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
        die "need root or sudo to install: ${missing[*]}"
    fi
    run_retrying $SUDO apt-get update -qq
    run_retrying $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

step_setup() {
    ensure_rust
    ensure_debian_packages
    note "$(rustc --version); MSRV $MSRV; CARGO_TARGET_DIR=$TARGET_ROOT"
    note "free disk space there: $(free_space) (a full run needs about 2 GiB for its builds; see Disk above)"
}

# ---------------------------------------------------------------------------------------------
# Steps

step_fmt() {
    run cargo fmt --all -- --check
}

step_clippy() {
    run cargo clippy --workspace --all-targets --all-features -- -D warnings
}

# With every feature (as docs.rs builds them) and with the default ones, where links to
# feature-gated items would break.
step_doc() {
    RUSTDOCFLAGS="${RUSTDOCFLAGS:+$RUSTDOCFLAGS }-D warnings" \
        run cargo doc --no-deps --all-features -p mod-alloc
    RUSTDOCFLAGS="${RUSTDOCFLAGS:+$RUSTDOCFLAGS }-D warnings" \
        run cargo doc --no-deps -p mod-alloc
}

# Every feature alone, none, the default and all: each combination must build without a
# warning (dead code in one combination is a bug in that combination).
step_features() {
    run cargo clippy -p mod-alloc --all-targets --no-default-features -- -D warnings
    for feature in "${FEATURES[@]}"; do
        run cargo clippy -p mod-alloc --all-targets --no-default-features --features "$feature" \
            -- -D warnings
    done
    run cargo clippy -p mod-alloc --all-targets -- -D warnings
    run cargo clippy -p mod-alloc --all-targets --all-features -- -D warnings
}

step_test_default() {
    run cargo test --workspace
}

# These builds force frame pointers, so the tests that would otherwise skip when a self-test
# finds none must fail instead (MOD_ALLOC_EXPECT_FRAME_POINTERS=present).
step_test_all_features() {
    RUSTFLAGS="$FRAME_POINTER_FLAGS" MOD_ALLOC_EXPECT_FRAME_POINTERS=present \
        run cargo test -p mod-alloc --all-features --target-dir "$FRAME_POINTER_TARGET"
}

step_test_release() {
    RUSTFLAGS="$FRAME_POINTER_FLAGS" MOD_ALLOC_EXPECT_FRAME_POINTERS=present \
        run cargo test -p mod-alloc --release --all-features --target-dir "$FRAME_POINTER_TARGET"
}

step_msrv() {
    MSRV_EXTRA_TARGETS="x86_64-pc-windows-msvc" run scripts/msrv.sh
}

step_cross_check() {
    for target in "${CHECK_TARGETS[@]}"; do
        run cargo check -p mod-alloc --all-features --target "$target"
    done
}

step_quickstart() {
    # The README's first command: the main job, which must write a DHAT file the viewer reads.
    local out="$TARGET_ROOT/quickstart"
    rm -rf "$out" && mkdir -p "$out"
    (cd "$out" && RUSTFLAGS="$FRAME_POINTER_FLAGS" \
        run cargo run --release --features dhat-compat --example quickstart \
        --manifest-path "$OLDPWD/Cargo.toml" --target-dir "$FRAME_POINTER_TARGET")
    run test -s "$out/dhat-heap.json"
    run grep -q '"mode": "rust-heap"' "$out/dhat-heap.json"
    # And without the feature it still runs, printing the figures only.
    run cargo run --release --example quickstart
    # The other examples run to the end too: each fails with a panic or an error status if
    # what it shows stops working (`dhat_json` runs in the compat step, which also loads its
    # files in the viewer).
    local example
    for example in dhat_drop_in dhat_ad_hoc heap_assertions symbolicate; do
        (cd "$out" && RUSTFLAGS="$FRAME_POINTER_FLAGS" \
            run cargo run --release --features dhat-compat --example "$example" \
            --manifest-path "$OLDPWD/Cargo.toml" --target-dir "$FRAME_POINTER_TARGET") |
            tee "$out/$example.txt"
    done
    run grep -q '"mode": "rust-ad-hoc"' "$out/dhat-ad-hoc.json"
    # `symbolicate` names the example's own code, with file and line...
    run grep -q 'symbolicate::demo::main (.*examples/symbolicate.rs:[0-9]' \
        "$out/symbolicate.txt"
    # ...and built as the README warns not to, without frame pointers, it says why its
    # lists are empty instead of printing them silently.
    run cargo run --release --features symbolicate --example symbolicate | tee "$out/no-fp.txt"
    run grep -q '^mod-alloc: .*force-frame-pointers=yes' "$out/no-fp.txt"
}

step_bench() {
    # Smoke run of the benchmark harness: builds every configuration (frame pointers on) and
    # runs the driver with tiny iteration counts, so the benchmarks never rot. Its figures are
    # not meaningful and are not judged, but `--strict` fails the step if a configuration is
    # not built, contaminated, without frame pointers or silent, or has a withheld cell.
    run env CARGO_TARGET_DIR="$FRAME_POINTER_TARGET" bench/run.sh --quick --strict
}

# Steps with scripts of their own:
#   cross_aarch64  the frame-pointer walker on aarch64 Linux, built with the cross gcc, run
#                  under qemu
#   windows_wine   the test suite for Windows (GNU toolchain), run under Wine
#   compat         differential tests against dhat 0.3.3 and the DHAT viewer check in chromium
#   reliability    Miri, loom and sanitizers
step_cross_aarch64() { run bash scripts/cross-aarch64.sh; }
step_windows_wine() { run bash scripts/windows-wine.sh; }
step_compat() { run bash scripts/compat.sh; }
step_reliability() { run bash scripts/reliability.sh; }

# ---------------------------------------------------------------------------------------------
# Disk

# The directories below $TARGET_ROOT that a step builds into. A wrong entry only costs time:
# cargo rebuilds whatever was deleted too early. (The reliability step prunes its own legs'.)
step_build_dirs() {
    case "$1" in
        clippy | doc | features | test_default) echo debug doc ;;
        cross_check) echo debug "${CHECK_TARGETS[@]}" ;;
        test_all_features) echo frame-pointers/debug ;;
        test_release | bench) echo frame-pointers/release ;;
        quickstart) echo frame-pointers/release release quickstart ;;
        msrv) echo msrv-crate ;;
        cross_aarch64) echo cross-aarch64 ;;
        windows_wine) echo windows-wine ;;
        compat) echo release compat-dhat compat-ours compat-native ;;
    esac
}

# Deletes the build directories of step number $1 of `selected` that no later step uses.
prune_after() {
    [ "$PRUNE_TARGETS" = 1 ] || return 0
    local done_index=$1 dir later needed
    for dir in $(step_build_dirs "${selected[$done_index]}"); do
        needed=0
        for later in "${selected[@]:$((done_index + 1))}"; do
            if [[ " $(step_build_dirs "$later") " == *" $dir "* ]]; then
                needed=1
                break
            fi
        done
        if [ $needed = 0 ] && [ -d "$TARGET_ROOT/$dir" ]; then
            rm -rf "${TARGET_ROOT:?}/$dir"
        fi
    done
}

# Free space where the builds go, as df prints it (for the log: a full disk shows up as a
# linker killed by SIGBUS, which names no cause).
free_space() {
    mkdir -p "$TARGET_ROOT"
    df -h "$TARGET_ROOT" | awk 'NR == 2 { print $4 }'
}

# ---------------------------------------------------------------------------------------------
# Driver

case "${1:-}" in
    --list)
        printf '%s\n' "${STEPS[@]}"
        exit 0
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
esac

selected=("${STEPS[@]}")
if [ $# -gt 0 ]; then
    selected=("$@")
    for name in "${selected[@]}"; do
        declare -F "step_$name" >/dev/null || die "unknown step '$name' (see --list)"
    done
fi

# Setup always runs first: it is quick when nothing is missing.
selected=(setup "${selected[@]}")
total_started=$SECONDS

passed=0
failed=0
failures=()
count=${#selected[@]}
index=0
for name in "${selected[@]}"; do
    index=$((index + 1))
    say ""
    say "==> [$index/$count] $name"
    started=$SECONDS
    # Run the step in a subshell with errexit on, outside any `if`, so that a failing command
    # inside it really stops it; the status is collected with errexit briefly off.
    set +e
    (
        set -euo pipefail
        "step_$name"
    )
    status=$?
    set -e
    elapsed=$((SECONDS - started))
    prune_after $((index - 1))
    if [ $status -ne 0 ]; then
        failed=$((failed + 1))
        say "    FAILED: step '$name' exited with status $status after ${elapsed}s ($(free_space) free)"
        say "    rerun it alone with: ./scripts/test-all.sh $name"
        failures+=("$name")
        if [ "${KEEP_GOING:-0}" != 1 ] || [ "$name" = setup ]; then
            break
        fi
        continue
    fi
    note "ok ($name, ${elapsed}s; $(free_space) free)"
    passed=$((passed + 1))
done

say ""
if [ ${#failures[@]} -gt 0 ]; then
    say "failed: ${failures[*]}"
fi
say "total time: $(((SECONDS - total_started) / 60))m $(((SECONDS - total_started) % 60))s"
say "$passed passed, $failed failed"
[ $failed -eq 0 ]
