//! A long single-threaded mix of allocations, grows, shrinks and frees
//! (6,000 steps chosen by a fixed pseudo-random sequence), with sizes from
//! one byte to 96 KiB, so that the peak is reached, left and reached again
//! many times, sometimes by one large block and sometimes by many small
//! ones. The stats are printed every 97 steps and at the end, then a
//! second profiler runs 6,000 more steps and reads them only at its end: a
//! single-threaded program gets dhat's figures exactly, whatever the
//! profiler does internally with runs of events. Every operation is one
//! non-inlined function called from one place, so each is one program
//! point in both builds.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use std::hint::black_box;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[inline(never)]
fn make(size: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(size);
    v.push(1u8);
    v
}

#[inline(never)]
fn grow(v: &mut Vec<u8>, extra: usize) {
    let target = v.capacity() + extra;
    v.reserve_exact(target - v.len());
}

#[inline(never)]
fn shrink(v: &mut Vec<u8>, to: usize) {
    v.shrink_to(to.max(v.len()));
}

#[inline(never)]
fn free(v: Vec<u8>) {
    drop(black_box(v));
}

fn size(rng: &mut Rng) -> usize {
    match rng.next() % 16 {
        0 => 60_000 + (rng.next() % 40_000) as usize,
        1..=3 => 1 + (rng.next() % 4_000) as usize,
        _ => 1 + (rng.next() % 200) as usize,
    }
}

#[inline(never)]
fn step(rng: &mut Rng, slots: &mut [Option<Vec<u8>>]) {
    let slot = (rng.next() % slots.len() as u64) as usize;
    match slots[slot].take() {
        None => slots[slot] = Some(make(size(rng))),
        Some(mut v) => match rng.next() % 10 {
            0..=3 => free(v),
            4..=6 => {
                grow(&mut v, size(rng));
                slots[slot] = Some(v);
            }
            _ => {
                let to = v.capacity() / (2 + (rng.next() % 3) as usize);
                shrink(&mut v, to);
                slots[slot] = Some(v);
            }
        },
    }
}

fn main() {
    let mut slots: Vec<Option<Vec<u8>>> = (0..48).map(|_| None).collect();
    let mut rng = Rng(0x5eed);
    let profiler = dhat::Profiler::builder().file_name("mix.json").build();
    for i in 0..6_000 {
        step(&mut rng, black_box(&mut slots));
        if i % 97 == 96 {
            println!("{i}: {:?}", dhat::HeapStats::get());
        }
    }
    println!("end: {:?}", dhat::HeapStats::get());
    // Half the survivors die before the end, the rest are live at t-end.
    for slot in slots.iter_mut().step_by(2) {
        if let Some(v) = slot.take() {
            free(v);
        }
    }
    println!("final: {:?}", dhat::HeapStats::get());
    drop(profiler);

    // Again, with the stats read only at the end.
    let profiler = dhat::Profiler::builder()
        .file_name("mix-quiet.json")
        .build();
    for _ in 0..6_000 {
        step(&mut rng, black_box(&mut slots));
    }
    println!("quiet: {:?}", dhat::HeapStats::get());
    drop(profiler);
}
