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
