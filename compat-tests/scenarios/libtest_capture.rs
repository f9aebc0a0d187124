//! compat: libtest
//! compat: exit=101
//! Profilers inside `#[test]` functions, as heap-usage tests run them under
//! `cargo test`: libtest captures what a test prints, dhat's summary lines
//! included, and shows it only for a test that fails. The body is in
//! `common/libtest_body.rs`.
#[path = "common/libtest_body.rs"]
mod body;

#[cfg(not(test))]
fn main() {
    eprintln!("a set of tests: build it with rustc's --test");
    std::process::exit(2);
}
