//! dhat's assertion macros.
//!
//! `#[macro_export]` places a macro at the crate root, so each is defined under a hidden
//! name there and re-exported from `dhat_compat` as `assert`, `assert_eq` and `assert_ne`.
//! The expansions name everything through `$crate`, so they work however the module is
//! imported. As in dhat, the condition runs inside `check_assert_condition` and stays out
//! of the heap profile (the counters and call sites still see it), the message is built at
//! the call site (so the panic location is the user's line), and `assert_eq!`/`assert_ne!`
//! evaluate their operands a second time to format a failure.
//!
//! Each failure is one `panic!` at the call site whose format string is a literal and whose
//! arguments are `stringify!`'d source, the operands and a nested `format_args!`, exactly the
//! shape dhat expands to. The payload kind is therefore whatever the compiler makes of that
//! shape: rustc folds a message whose arguments are all literals into a `&'static str` (so
//! `assert!(c)`, `assert!(c, "text")` and `assert!(c, "{}", 1)` give `&str` on current
//! compilers), and anything that formats a runtime value, like the operands of `assert_eq!`,
//! gives a `String`. The condition's text is passed as an argument rather than spliced into
//! the format string, so braces in it (`matches!(x, S { .. })`) are printed, not parsed, and
//! inline captures such as `"{x}"` keep working in the message.

/// Asserts a condition about the running testing-mode profiler (`dhat::assert!`).
///
/// On failure the profiler's output is written, and the panic message is
/// `dhat: assertion failed: <cond>`, or with format arguments
/// `dhat: assertion failed: <cond>: <message>`.
///
/// ```
/// use mod_alloc::dhat_compat as dhat;
///
/// let _profiler = dhat::Profiler::builder().testing().build();
/// let stats = dhat::HeapStats::get();
/// dhat::assert!(stats.total_bytes >= stats.curr_bytes as u64);
/// dhat::assert!(stats.max_blocks >= stats.curr_blocks, "peak below current: {:?}", stats);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __dhat_compat_assert {
    ($cond:expr) => {
        if $crate::dhat_compat::check_assert_condition(|| $cond) {
            ::std::panic!("dhat: assertion failed: {}", ::std::stringify!($cond));
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if $crate::dhat_compat::check_assert_condition(|| $cond) {
            ::std::panic!(
                "dhat: assertion failed: {}: {}",
                ::std::stringify!($cond),
                ::std::format_args!($($arg)+)
            );
        }
    };
}

/// Asserts that two expressions are equal while a testing-mode profiler runs
/// (`dhat::assert_eq!`). Accepts a trailing comma and format arguments.
///
/// ```
/// use mod_alloc::dhat_compat as dhat;
///
/// let _profiler = dhat::Profiler::builder().ad_hoc().testing().build();
/// dhat::ad_hoc_event(3);
/// let stats = dhat::AdHocStats::get();
/// dhat::assert_eq!(stats.total_events, stats.total_events,);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __dhat_compat_assert_eq {
    ($left:expr, $right:expr $(,)?) => {
        if $crate::dhat_compat::check_assert_condition(|| $left == $right) {
            ::std::panic!(
                "dhat: assertion failed: `(left == right)`\n  left: `{:?}`,\n right: `{:?}`",
                $left,
                $right
            );
        }
    };
    ($left:expr, $right:expr, $($arg:tt)+) => {
        if $crate::dhat_compat::check_assert_condition(|| $left == $right) {
            ::std::panic!(
                "dhat: assertion failed: `(left == right)`\n  left: `{:?}`,\n right: `{:?}`: {}",
                $left,
                $right,
                ::std::format_args!($($arg)+)
            );
        }
    };
}

/// Asserts that two expressions differ while a testing-mode profiler runs
/// (`dhat::assert_ne!`). Unlike `assert_eq!`, a trailing comma is not accepted (as in dhat).
///
/// ```
/// use mod_alloc::dhat_compat as dhat;
///
/// let _profiler = dhat::Profiler::builder().testing().build();
/// dhat::assert_ne!(1, 2, "one is not two");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __dhat_compat_assert_ne {
    ($left:expr, $right:expr) => {
        if $crate::dhat_compat::check_assert_condition(|| $left != $right) {
            ::std::panic!(
                "dhat: assertion failed: `(left != right)`\n  left: `{:?}`,\n right: `{:?}`",
                $left,
                $right
            );
        }
    };
    ($left:expr, $right:expr, $($arg:tt)+) => {
        if $crate::dhat_compat::check_assert_condition(|| $left != $right) {
            ::std::panic!(
                "dhat: assertion failed: `(left != right)`\n  left: `{:?}`,\n right: `{:?}`: {}",
                $left,
                $right,
                ::std::format_args!($($arg)+)
            );
        }
    };
}
