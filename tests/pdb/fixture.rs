//! A tiny Windows program with no C runtime, linked by rust-lld into a real `.exe` and `.pdb`
//! by `tests/symbolize_pdb.rs`. Its functions are resolved through the PDB code path.
//! Every out-of-line function is `#[no_mangle]` so the linker's map file names it plainly;
//! the two `#[inline(always)]` functions give `fixture_entry` a two-deep inline chain.

#![no_std]
#![no_main]

use core::hint::black_box;

#[no_mangle]
#[inline(never)]
pub extern "C" fn fixture_entry() -> u32 {
    let first = fixture_double(black_box(20));
    let second = fixture_sum_to(black_box(5));
    let third = fixture_outer_inline(black_box(3));
    first + second + third
}

#[inline(always)]
fn fixture_outer_inline(value: u32) -> u32 {
    let shifted = value.wrapping_add(1);
    fixture_inner_inline(shifted)
}

#[inline(always)]
fn fixture_inner_inline(value: u32) -> u32 {
    let squared = value.wrapping_mul(value);
    black_box(squared)
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn fixture_double(value: u32) -> u32 {
    let doubled = value.wrapping_mul(2);
    black_box(doubled)
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn fixture_sum_to(limit: u32) -> u32 {
    let mut total = 0u32;
    let mut next = 1u32;
    while next <= limit {
        total = total.wrapping_add(next);
        next += 1;
    }
    black_box(total)
}

#[panic_handler]
fn on_panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
