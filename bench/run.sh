#!/usr/bin/env sh
# Builds every benchmark configuration and runs the driver. Arguments go to the driver,
# e.g. `bench/run.sh --quick` or `bench/run.sh --rounds 11`.
#
# Runs cargo from inside bench/ so that bench/.cargo/config.toml (frame pointers) applies.
# A RUSTFLAGS variable would replace that config, so when one is set the flag is appended.
# Two builds, because Cargo unifies features across the binaries of one build: `tier2`
# (mod-alloc with `backtraces`) must not leak into the others.
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
cargo run --release --bin bench -- "$@"
