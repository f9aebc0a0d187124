//! With 4+ threads over many sites, per-site counts and bytes are exact once the threads
//! are quiet. Each event goes through the real allocator path with synthetic frames, so the
//! per-thread site caches overflow and flush into the shared table many times.
#![cfg(feature = "backtraces")]

use mod_alloc::{ModAlloc, Profiler};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

const THREADS: usize = 6;
const SITES: usize = 300;
const ROUNDS: usize = 40;

/// Small fake return addresses: never real code addresses, so they cannot collide with
/// sites from real walks.
fn frames_of(site: usize) -> [usize; 3] {
    [0x100 + site, 0x20, 0x300 + site % 7]
}

fn size_of(site: usize) -> usize {
    8 * (site % 13 + 1)
}

#[test]
fn many_threads_many_sites_exact_counts() {
    let profiler = Profiler::start();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    // Each thread visits every site once per round, starting at its own offset
                    // (7 is coprime with SITES, so this is a permutation).
                    for step in 0..SITES {
                        let site = (step * 7 + thread * 31 + round) % SITES;
                        let frames = frames_of(site);
                        mod_alloc::__private::with_synthetic_frames(&frames, || {
                            drop(std::hint::black_box(Vec::<u8>::with_capacity(size_of(
                                site,
                            ))));
                        });
                    }
                }
            });
        }
    });
    let report = profiler.call_sites();
    for site in 0..SITES {
        let frames = frames_of(site);
        let found: Vec<_> = report.sites.iter().filter(|s| s.frames == frames).collect();
        assert_eq!(found.len(), 1, "site {site} must appear exactly once");
        assert_eq!(
            found[0].count,
            (THREADS * ROUNDS) as u64,
            "count of site {site}"
        );
        assert_eq!(
            found[0].bytes,
            (THREADS * ROUNDS * size_of(site)) as u64,
            "bytes of site {site}"
        );
    }
    assert_eq!(report.table_full_events, 0);
    assert_eq!(report.contended_events, 0);
    assert_eq!(
        report.events,
        report.attributed_events() + report.unattributed_events
    );
}
