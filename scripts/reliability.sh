#!/usr/bin/env bash
# Reliability legs of the test command (step `reliability` of scripts/test-all.sh):
#
#   1. Miri on the pure modules: counters, heap accounting, call-site table, JSON writer and
#      trimming, the frame-chain walker over synthetic stacks.
#   2. loom models of the call-site table's claim, publish and sweep protocol.
#   3. Call-site capture built without frame pointers (and, for contrast, with them), and
#      build.rs's warning about it.
#   4. AddressSanitizer and ThreadSanitizer runs of the allocator scenarios, stress and
#      reliability tests, in release with smaller counts.
#
# Needs the nightly toolchain with miri and rust-src (scripts/test-all.sh installs them).
# Builds go to $CARGO_TARGET_DIR (default target/), one directory per leg, so the legs'
# different flags never invalidate each other's builds. About 4 minutes from an empty build
# directory on two idle cores (TSan rebuilds std), 8 on a busy machine.
# With PRUNE_TARGETS=1 (scripts/test-all.sh sets it) each leg's build directories are deleted
# when the leg ends, to save disk.
# `./scripts/reliability.sh miri loom` runs only the named legs.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
target_root=${CARGO_TARGET_DIR:-target}
case "$target_root" in
    /*) ;;
    *) target_root="$(pwd)/$target_root" ;;
esac
legs=("$@")
[ ${#legs[@]} -gt 0 ] || legs=(miri loom frame_pointers asan tsan)
started=$SECONDS
step() { printf '\n== reliability: %s (%ss so far)\n' "$*" "$((SECONDS - started))"; }
fail() {
    echo "reliability.sh: $*" >&2
    exit 1
}

# Runs a test command and fails unless its tests, all told, passed at least MIN times: a
# filter that matches nothing (after a rename, say) must not pass as a check.
expect_passed() {
    local min=$1 log passed
    shift
    log=$(mktemp)
    "$@" 2>&1 | tee "$log"
    passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
    rm -f "$log"
    [ "$passed" -ge "$min" ] || fail "expected at least $min passing tests, got $passed: $*"
}

# The sanitizer legs build with frame pointers, as the crate asks of its users (the heap
# tests attribute blocks to call sites), and run the allocator scenarios with smaller counts (the stress tests read
# MOD_ALLOC_STRESS_OPS: 100,000 operations per worker instead of 1,000,000).
export MOD_ALLOC_STRESS_OPS=100000
san_tests=(
    # tier 1: counters, windows, thread lifecycle, an inner allocator that fails
    --test counters_workloads --test counters_window --test counters_thread_scope
    --test counters_many_threads --test counters_thread_lifecycle --test counters_failing_inner
    --test stress_counters --test lifecycle_counters --test counters_readers_during_exit
    # heap profiling under stress, faults, lifecycle (fork included) and hostile input
    --test stress_heap --test reliability_heap_faults --test reliability_heap_lifecycle
    --test dhat_cross_thread_frees
    --test reliability_hostile_names --test reliability_hostile_env
    --test reliability_no_frame_pointers
    # call sites: many threads, a table that must grow
    --test sites_threads_exact --test sites_table_growth
)

leg_miri() {
    step "miri: counters, heap accounting, call-site table, JSON writer, walker"
    # Strict provenance catches integer-to-pointer casts that would be UB elsewhere; the slot
    # list and the side tables keep their pointers as pointers. Tests that read this process's
    # loaded modules (dl_iterate_phdr, which Miri cannot run) are skipped.
    MIRIFLAGS="-Zmiri-strict-provenance" CARGO_TARGET_DIR="$target_root/miri" \
        expect_passed 70 cargo +nightly miri test -q -p mod-alloc --lib --all-features -- \
        counters:: heap:: sites:: report:: walk::chain dhat_compat:: \
        --skip symbolize:: --skip report::tests::the_default_resolver_names_this_binary_s_functions
}

leg_loom() {
    step "loom: call-site table claim, publish and sweep"
    LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg mod_alloc_loom" CARGO_TARGET_DIR="$target_root/loom" \
        expect_passed 5 cargo test -q --release -p mod-alloc --features backtraces --lib loom
}

leg_frame_pointers() {
    step "call sites built without frame pointers: the walk ends cleanly and says why"
    MOD_ALLOC_EXPECT_FRAME_POINTERS=missing RUSTFLAGS="-C force-frame-pointers=no" \
        CARGO_TARGET_DIR="$target_root/no-frame-pointers" \
        cargo test -q --release -p mod-alloc --features backtraces --test reliability_no_frame_pointers
    step "a heap profile built without frame pointers: its summary says so"
    MOD_ALLOC_EXPECT_FRAME_POINTERS=missing RUSTFLAGS="-C force-frame-pointers=no" \
        CARGO_TARGET_DIR="$target_root/no-frame-pointers" \
        cargo test -q --release -p mod-alloc --features dhat-compat --test dhat_no_frame_pointers
    step "the same tests built with frame pointers: they are found"
    MOD_ALLOC_EXPECT_FRAME_POINTERS=present RUSTFLAGS="-C force-frame-pointers=yes" \
        CARGO_TARGET_DIR="$target_root/frame-pointers-release-bt" \
        cargo test -q --release -p mod-alloc --features backtraces --test reliability_no_frame_pointers
    MOD_ALLOC_EXPECT_FRAME_POINTERS=present RUSTFLAGS="-C force-frame-pointers=yes" \
        CARGO_TARGET_DIR="$target_root/frame-pointers-release-bt" \
        cargo test -q --release -p mod-alloc --features dhat-compat --test dhat_no_frame_pointers
    if [ "$(uname -m)" = x86_64 ]; then
        step "build.rs warns about backtraces without frame pointers on x86_64, and only then"
        local dir="$target_root/build-warning" flag log warned
        rm -rf "$dir"
        mkdir -p "$dir"
        # A fresh build directory each time, so the build script runs and prints.
        for flag in no yes always; do
            log="$dir/$flag.log"
            RUSTFLAGS="-C force-frame-pointers=$flag" \
                cargo check -p mod-alloc --features backtraces --lib --target-dir "$dir/$flag" 2>"$log" ||
                fail "cargo check failed: $(cat "$log")"
            if grep -q 'without forced frame pointers' "$log"; then warned=yes; else warned=no; fi
            case "$flag:$warned" in
                no:yes | yes:no | always:no) ;;
                *) fail "force-frame-pointers=$flag: build.rs warning printed: $warned" ;;
            esac
        done
        # Windows walks with the system unwinder: no warning there, flag or not.
        if rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
            log="$dir/windows.log"
            RUSTFLAGS="-C force-frame-pointers=no" \
                cargo check -p mod-alloc --features backtraces --lib \
                --target x86_64-pc-windows-gnu --target-dir "$dir/windows" 2>"$log" ||
                fail "cargo check for Windows failed: $(cat "$log")"
            if grep -q 'without forced frame pointers' "$log"; then
                fail "build.rs warned about frame pointers for a Windows target"
            fi
        fi
    fi
}

leg_asan() {
    step "AddressSanitizer"
    MOD_ALLOC_SANITIZER=address RUSTFLAGS="-Zsanitizer=address -C force-frame-pointers=yes" RUSTDOCFLAGS="-Zsanitizer=address" \
        CARGO_TARGET_DIR="$target_root/asan" \
        cargo +nightly test -q --release -p mod-alloc --all-features --target "$target" \
        "${san_tests[@]}"
}

leg_tsan() {
    step "ThreadSanitizer (std rebuilt with -Zbuild-std)"
    MOD_ALLOC_SANITIZER=thread RUSTFLAGS="-Zsanitizer=thread -C force-frame-pointers=yes" CARGO_TARGET_DIR="$target_root/tsan" TSAN_OPTIONS="halt_on_error=1" \
        cargo +nightly test -q --release -p mod-alloc --all-features -Zbuild-std --target "$target" \
        "${san_tests[@]}"
}

# The build directories (below $target_root) of each leg.
leg_build_dirs() {
    case "$1" in
        miri) echo miri ;;
        loom) echo loom ;;
        frame_pointers) echo no-frame-pointers frame-pointers-release-bt build-warning ;;
        asan) echo asan ;;
        tsan) echo tsan ;;
    esac
}

for leg in "${legs[@]}"; do
    declare -F "leg_$leg" >/dev/null || {
        echo "reliability.sh: unknown leg '$leg' (miri loom frame_pointers asan tsan)" >&2
        exit 2
    }
    "leg_$leg"
    if [ "${PRUNE_TARGETS:-0}" = 1 ]; then
        for dir in $(leg_build_dirs "$leg"); do
            rm -rf "${target_root:?}/$dir"
        done
    fi
done
step "done: ${legs[*]}"
