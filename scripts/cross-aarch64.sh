#!/usr/bin/env bash
# Cross-compiles the frame-pointer walker's tests for aarch64-unknown-linux-gnu and runs them
# under qemu-user, in debug and release builds, with the heap profiler's unit tests and two
# of its end-to-end tests (its clock is aarch64's own counter, `cntvct_el0`).
#
# Needs: the rustup target, Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (linker,
# C library, and the C compiler the C-frame test uses), and qemu-user. Missing pieces are
# installed when possible (rustup; apt-get when running as root), otherwise named.
#
# Environment: RUSTFLAGS (default "-C force-frame-pointers=yes"), CARGO_TARGET_DIR (the build
# goes into its cross-aarch64/ subdirectory, default target/cross-aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu

if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi
if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null \
    || [ ! -d "$sysroot/lib" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    else
        echo "cross-aarch64: install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
        exit 1
    fi
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot"
export WALK_TEST_CC=aarch64-linux-gnu-gcc
export RUSTFLAGS="${RUSTFLAGS:--C force-frame-pointers=yes}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/cross-aarch64"

walker_tests=(--test walk_chain --test walk_skip --test walk_skip_modalloc --test walk_altstack --test walk_c_frames
    --test sites_depth)
heap_tests=(--test dhat_numbers_heap --test dhat_cross_thread_frees)
for profile in dev release; do
    echo "cross-aarch64: $profile"
    cargo test --target "$target" --profile "$profile" --features backtraces --lib -- walk::
    cargo test --target "$target" --profile "$profile" --features backtraces "${walker_tests[@]}"
    cargo test --target "$target" --profile "$profile" --features dhat-compat --lib -- heap::
    cargo test --target "$target" --profile "$profile" --features dhat-compat "${heap_tests[@]}"
done
