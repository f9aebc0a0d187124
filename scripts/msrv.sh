#!/usr/bin/env bash
# Build the library on its minimum supported Rust version, with every feature and with none.
#
# Why not just `cargo +1.75 build`? The workspace gets in the way of an old cargo: the
# root Cargo.lock may be in a format cargo 1.75 cannot read (lockfile v4), and the other
# workspace members and the dev-dependencies pull in crates (dhat, serde_json, older
# mod-alloc releases) whose newest versions need a newer compiler. None of that is what
# a user of the library sees. So this script builds what a user gets from crates.io:
#
#   1. copy Cargo.toml, build.rs, src/ and .cargo/config.toml to a scratch crate,
#      dropping the workspace, dev-dependency and explicit target tables;
#   2. resolve its lockfile with the current stable cargo, whose MSRV-aware resolver
#      (`incompatible-rust-versions = "fallback"` in .cargo/config.toml) picks versions
#      that declare a rust-version no newer than ours;
#   3. make sure the lockfile is in a format the old cargo reads (v3);
#   4. build with the real MSRV toolchain, `--locked`, so nothing is re-resolved.
#
# The MSRV is read from the `rust-version` line of Cargo.toml, the one place it is declared.
#
# Usage: scripts/msrv.sh            build for the host (all features, then none)
#        MSRV_EXTRA_TARGETS="x86_64-pc-windows-msvc" scripts/msrv.sh
#                                   also `cargo check` those targets with every feature
#                                   (installs the target for the MSRV toolchain if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$(pwd)

msrv=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
if [ -z "$msrv" ]; then
    echo "msrv.sh: no rust-version line found in Cargo.toml" >&2
    exit 1
fi

# Install the toolchains this needs, only when missing.
# (Output is captured before grep reads it: with pipefail, `producer | grep -q` can fail when
# grep exits early and the producer dies of SIGPIPE.)
toolchains=$(rustup toolchain list)
if ! grep -q "^${msrv}-" <<<"$toolchains"; then
    rustup toolchain install "$msrv" --profile minimal
fi
if ! grep -q '^stable-' <<<"$toolchains"; then
    rustup toolchain install stable --profile minimal
fi
for target in ${MSRV_EXTRA_TARGETS:-}; do
    installed_targets=$(rustup +"$msrv" target list --installed)
    if ! grep -qx "$target" <<<"$installed_targets"; then
        rustup target add --toolchain "$msrv" "$target"
    fi
done

# The scratch crate lives in the target directory so that repeated runs reuse its build.
target_root=${CARGO_TARGET_DIR:-target}
case "$target_root" in
    /*) ;;
    [A-Za-z]:*) ;; # a Windows drive path
    *) target_root="$repo_root/$target_root" ;;
esac
scratch="$target_root/msrv-crate"
rm -rf "$scratch/src" "$scratch/Cargo.toml" "$scratch/Cargo.lock" "$scratch/build.rs"
mkdir -p "$scratch/.cargo"
cp -R src "$scratch/src"
cp build.rs "$scratch/build.rs"
cp .cargo/config.toml "$scratch/.cargo/config.toml"

# Drop every table a published crate's user never builds: the workspace, dev-dependencies
# (including target-specific ones) and explicit example/test/bench targets, whose files are
# not copied. An empty [workspace] makes the scratch crate its own workspace root, so cargo
# does not walk up into the repository's workspace.
awk '
    /^[[:space:]]*\[/ {
        skip = ($0 ~ /^[[:space:]]*\[workspace/ ||
                $0 ~ /dev-dependencies[[:space:]]*\]/ ||
                $0 ~ /^[[:space:]]*\[\[(example|test|bench)\]\]/)
    }
    !skip { print }
' Cargo.toml > "$scratch/Cargo.toml"
printf '\n[workspace]\n' >> "$scratch/Cargo.toml"

cd "$scratch"
# Relative, so that no POSIX path reaches a native Windows cargo from Git Bash.
export CARGO_TARGET_DIR=target

echo "msrv.sh: resolving dependencies for Rust $msrv with $(cargo +stable --version)"
cargo +stable generate-lockfile --quiet

# Lockfile v4 differs from v3 only in how git source URLs are encoded. With registry
# sources alone, rewriting the version line is exact; with a git source, refuse.
lock_version=$(sed -n 's/^version = \([0-9]*\)$/\1/p' Cargo.lock | head -n 1)
if [ "${lock_version:-3}" -gt 3 ]; then
    if grep -q '^source = "git+' Cargo.lock; then
        echo "msrv.sh: Cargo.lock v$lock_version has git sources; cargo $msrv cannot read it" >&2
        exit 1
    fi
    sed "s/^version = $lock_version\$/version = 3/" Cargo.lock > Cargo.lock.v3
    mv Cargo.lock.v3 Cargo.lock
fi

echo "msrv.sh: locked dependencies:"
awk '/^name = / { name = $3 } /^version = "/ { print "  " name " " $3 }' Cargo.lock | tr -d '"'

cargo +"$msrv" build --locked --all-features
cargo +"$msrv" build --locked --no-default-features
for target in ${MSRV_EXTRA_TARGETS:-}; do
    cargo +"$msrv" check --locked --all-features --target "$target"
done
echo "msrv.sh: the library builds on Rust $msrv"
