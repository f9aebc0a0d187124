#!/usr/bin/env sh
# Builds every benchmark configuration and runs the driver. Arguments go to the driver,
# e.g. `bench/run.sh --quick`, `bench/run.sh --quick --strict` (fails on an unhealthy
# configuration) or `bench/run.sh --rounds 11`.
#
# Runs cargo from inside bench/ so that bench/.cargo/config.toml (frame pointers) applies.
# A RUSTFLAGS variable would replace that config, so when one is set the flag is appended.
# Four builds, because Cargo unifies features across the binaries of one build: each bench
# feature (mod-alloc `backtraces`, mod-alloc 1.0.1 `backtraces`, mod-alloc `dhat-compat`)
# must reach only its own binaries.
set -eu
cd "$(dirname "$0")"
if [ -n "${RUSTFLAGS:-}" ]; then
    case "$RUSTFLAGS" in
        *force-frame-pointers*) ;;
        *) RUSTFLAGS="$RUSTFLAGS -C force-frame-pointers=yes"; export RUSTFLAGS ;;
    esac
fi
cargo build --release --bins
cargo build --release --features tier2 --bin tier2
cargo build --release --features modalloc101_bt --bin modalloc101_bt
cargo build --release --features heap --bin heap_ours --bin sym_ours
cargo run --release --bin bench -- "$@"
