//! A value on cache lines of its own, so that writes to it never slow down its neighbours.

use core::ops::Deref;

/// Aligns `T` to the unit of false sharing of the target.
///
/// x86_64 fetches cache lines in adjacent pairs (Intel's optimisation manual, "spatial
/// prefetcher"), and aarch64 server parts commonly use 128-byte lines, so both get 128 bytes.
/// Other targets get 64, the line size of nearly every other CPU in use.
#[cfg_attr(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    repr(C, align(128))
)]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(C, align(64))
)]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> Deref for CachePadded<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}
