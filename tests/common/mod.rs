//! Shared helpers for the process-per-scenario tests. Each test file is its own binary with
//! `harness = false`: `main` runs the checks in order on the main thread, so no test-runner
//! thread allocates while a window is open.

#![allow(dead_code)] // each binary uses a subset

/// Runs one named check, printing a libtest-like line.
pub fn check(name: &str, f: impl FnOnce()) {
    f();
    println!("test {name} ... ok");
}

/// Prints the closing line a test runner would.
pub fn finish(passed: usize) {
    println!("\ntest result: ok. {passed} passed; 0 failed");
}

/// A deterministic xorshift64* generator for the stress tests: no allocation, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Mostly small sizes, some up to 64 KiB, one in a thousand up to 1 MiB.
    pub fn size(&mut self) -> usize {
        match self.next() % 1000 {
            0 => (self.next() % (1 << 20)) as usize + 1,
            1..=20 => (self.next() % 65_536) as usize + 1,
            _ => (self.next() % 256) as usize + 1,
        }
    }

    /// An alignment from 1 to 4096.
    pub fn align(&mut self) -> usize {
        1 << (self.next() % 13)
    }
}
