//! compat: libtest
//! compat: exit=101
//! compat: profile=debug
//! The tests of `libtest_capture`, unoptimised, as `cargo test` builds
//! them. The body is in `common/libtest_body.rs`.
#[path = "common/libtest_body.rs"]
mod body;

#[cfg(not(test))]
fn main() {
    eprintln!("a set of tests: build it with rustc's --test");
    std::process::exit(2);
}
