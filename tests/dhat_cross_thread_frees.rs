//! Blocks allocated on one thread and freed or reallocated on another, while the allocating
//! thread's events are still pending in its batch: the free must be applied after the
//! allocation, so no figure ever goes below zero and the profile's sums still hold. Then
//! blocks freed after their thread has exited.
#![cfg(feature = "dhat-compat")]

mod common;

use std::sync::mpsc;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const BLOCKS: usize = 20_000;
const BOX_BYTES: usize = 100;
const VEC_BYTES: usize = 24;

#[inline(never)]
fn make_box(i: usize) -> Box<[u8; BOX_BYTES]> {
    Box::new([i as u8; BOX_BYTES])
}

#[inline(never)]
fn make_vec(i: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(VEC_BYTES);
    v.push(i as u8);
    v
}

#[test]
fn frees_and_reallocs_on_another_thread() {
    let profiler = dhat::Profiler::builder().testing().build();
    let (boxes_tx, boxes_rx) = mpsc::sync_channel::<Box<[u8; BOX_BYTES]>>(16);
    let (vecs_tx, vecs_rx) = mpsc::sync_channel::<Vec<u8>>(16);
    let producer = std::thread::spawn(move || {
        for i in 0..BLOCKS {
            boxes_tx.send(make_box(i)).unwrap();
            vecs_tx.send(make_vec(i)).unwrap();
        }
    });
    let consumer = std::thread::spawn(move || {
        let mut checksum = 0usize;
        for _ in 0..BLOCKS {
            let boxed = boxes_rx.recv().unwrap();
            checksum += usize::from(boxed[0]);
            drop(boxed);
            let mut v = vecs_rx.recv().unwrap();
            // Grows past its capacity: a realloc of a block the producer allocated.
            v.resize(VEC_BYTES + 1, 0);
            checksum += v.len();
        }
        checksum
    });
    producer.join().unwrap();
    let checksum = consumer.join().unwrap();
    assert!(checksum >= BLOCKS * (VEC_BYTES + 1));

    let stats = dhat::HeapStats::get();
    let json: serde_json::Value = serde_json::from_str(&profiler.json_string().unwrap()).unwrap();
    common::assert_heap_profile(&json, Some(common::Totals::from(&stats)));
    let pps = json["pps"].as_array().unwrap();
    for pp in pps {
        let eb = pp["eb"].as_u64().unwrap();
        assert!(eb < 1 << 40, "a figure wrapped below zero: {pp}");
    }
    // Sanitizer builds (scripts/reliability.sh sets this) capture short stacks through their
    // runtime, so the two allocation sites can print alike and be merged; the sums and
    // invariants above hold there too, the per-site figures below need whole stacks.
    if std::env::var_os("MOD_ALLOC_SANITIZER").is_some() {
        return;
    }
    let point = |bytes: usize, blocks: usize| {
        let found: Vec<_> = pps
            .iter()
            .filter(|pp| {
                pp["tb"].as_u64() == Some(bytes as u64) && pp["tbk"].as_u64() == Some(blocks as u64)
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one point with {bytes} bytes in {blocks} blocks: {json}"
        );
        found[0].clone()
    };
    let boxes = point(BLOCKS * BOX_BYTES, BLOCKS);
    // Each vector is allocated, then reallocated by the consumer to twice its capacity: dhat
    // counts the realloc as a new block of the full new size at the original point.
    let vecs = point(BLOCKS * (VEC_BYTES + 2 * VEC_BYTES), 2 * BLOCKS);
    for pp in [&boxes, &vecs] {
        assert_eq!(
            (pp["eb"].as_u64(), pp["ebk"].as_u64()),
            (Some(0), Some(0)),
            "{pp}"
        );
        assert!(
            pp["mb"].as_u64().unwrap() < (BLOCKS * BOX_BYTES) as u64,
            "{pp}"
        );
    }
    assert!(stats.max_bytes < BLOCKS * BOX_BYTES, "{stats:?}");
    drop(profiler);

    // Blocks whose thread has exited before they are freed: their bookkeeping outlives the
    // thread, so the frees still count.
    let profiler = dhat::Profiler::builder().testing().build();
    let kept: Vec<Box<[u8; BOX_BYTES]>> = std::thread::spawn(|| (0..10).map(make_box).collect())
        .join()
        .unwrap();
    let before = dhat::HeapStats::get();
    drop(kept);
    let after = dhat::HeapStats::get();
    let vec_bytes = 10 * std::mem::size_of::<Box<[u8; BOX_BYTES]>>();
    assert_eq!(
        (
            before.curr_blocks - after.curr_blocks,
            before.curr_bytes - after.curr_bytes
        ),
        (11, 10 * BOX_BYTES + vec_bytes),
        "{before:?} {after:?}"
    );
    drop(profiler);
}
