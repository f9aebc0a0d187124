//! Allocations made in a crate other than the program's (see `Cargo.toml`).
//! Each function is kept out of line, and its block is returned through
//! `black_box`, so it stays the allocating frame.

use std::hint::black_box;

/// `vec![0; n]`: a zeroed allocation.
#[inline(never)]
pub fn zeroed_vec(n: usize) -> Vec<u8> {
    black_box(vec![0u8; n])
}

/// `vec![1; n]`: a plain allocation, filled.
#[inline(never)]
pub fn filled_vec(n: usize) -> Vec<u8> {
    black_box(vec![1u8; n])
}

/// `Vec::with_capacity(n)`: a plain allocation.
#[inline(never)]
pub fn empty_vec(n: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(n))
}
