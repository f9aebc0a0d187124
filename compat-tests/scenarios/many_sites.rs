//! Fifty distinct allocation sites (one non-inlined function each, made by
//! const generics), each allocating a different size a different number of
//! times, plus one site that stays live.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[inline(never)]
fn site<const N: usize>() -> Box<[u8; N]> {
    Box::new([N as u8; N])
}

macro_rules! sites {
    ($($n:literal)*) => {{
        let mut live = Vec::new();
        $(
            for _ in 0..($n % 3 + 1) {
                let b = site::<$n>();
                std::hint::black_box(&b);
            }
            live.push(site::<$n>().len());
        )*
        live
    }};
}

fn main() {
    println!("start");
    let profiler = dhat::Profiler::builder().file_name("sites.json").build();
    let lens = sites!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25
        26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50);
    println!("stats: {:?}", dhat::HeapStats::get());
    drop(profiler);
    println!("sites: {}", lens.len());
}
