#!/usr/bin/env bash
# Reliability legs of the test command: Miri on the pure modules, loom models of the
# call-site table, and AddressSanitizer / ThreadSanitizer runs of the allocator tests.
# Needs the nightly toolchain with miri and rust-src (scripts/test-all.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
step() { printf '\n== reliability: %s\n' "$*"; }

step "miri: counters, heap accounting, tables, JSON writer"
# Strict provenance catches integer-to-pointer casts that would be UB elsewhere; the slot
# list and the side tables keep their pointers as pointers.
MIRIFLAGS="-Zmiri-strict-provenance" \
    cargo +nightly miri test -q -p mod-alloc --lib --all-features -- \
    counters:: heap:: sites:: report:: dhat_compat::

if [ -f tests/loom_sites.rs ]; then
    step "loom: call-site table claim and publish"
    LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg mod_alloc_loom" CARGO_TARGET_DIR=target/loom \
        cargo test -q --release -p mod-alloc --features backtraces --test loom_sites
fi

# The sanitizer legs run the allocator scenarios in release with smaller counts.
export MOD_ALLOC_STRESS_OPS=100000
san_tests=(--test counters_workloads --test counters_window --test counters_thread_scope
    --test counters_many_threads --test counters_thread_lifecycle --test stress_counters
    --test lifecycle_counters)
for extra in tests/stress_heap.rs; do
    [ -f "$extra" ] && san_tests+=(--test "$(basename "$extra" .rs)")
done

step "AddressSanitizer"
RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR=target/asan \
    cargo +nightly test -q --release -p mod-alloc --all-features --target "$target" "${san_tests[@]}"

step "ThreadSanitizer (std rebuilt with -Zbuild-std)"
RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=target/tsan TSAN_OPTIONS="halt_on_error=1" \
    cargo +nightly test -q --release -p mod-alloc --all-features -Zbuild-std --target "$target" \
    "${san_tests[@]}"
