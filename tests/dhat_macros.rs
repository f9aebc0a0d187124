//! The assertion macros through the one-line swap: forms, messages, payload types, panic
//! location and double evaluation. One process; the checks run in order in one test.
#![cfg(feature = "dhat-compat")]
#![forbid(unsafe_code)]

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

use mod_alloc::dhat_compat as dhat;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

static LAST_LOCATION: Mutex<Option<(String, u32)>> = Mutex::new(None);

/// Runs `f`, expecting a panic, and returns its payload (the hook records the location).
fn payload_of(f: impl FnOnce()) -> Box<dyn Any + Send> {
    panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic")
}

fn static_str(payload: &(dyn Any + Send)) -> &'static str {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .expect("payload should be a &'static str")
}

fn string(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .expect("payload should be a String")
}

/// The payload's text, whichever of the two string kinds it is.
fn text(payload: &(dyn Any + Send)) -> String {
    match payload.downcast_ref::<&'static str>() {
        Some(text) => (*text).to_owned(),
        None => string(payload).to_owned(),
    }
}

/// The payload's kind and text, for comparing with a reference panic.
fn describe(payload: &(dyn Any + Send)) -> String {
    let kind = if payload.is::<&'static str>() {
        "&str"
    } else {
        "String"
    };
    format!("{kind} {:?}", text(payload))
}

fn last_location() -> (String, u32) {
    LAST_LOCATION
        .lock()
        .unwrap()
        .clone()
        .expect("a panic location")
}

/// A fresh testing-mode profiler whose failure output goes to a scratch file.
fn testing_profiler() -> dhat::Profiler {
    let path =
        std::env::temp_dir().join(format!("mod-alloc-dhat-macros-{}.json", std::process::id()));
    dhat::Profiler::builder().testing().file_name(path).build()
}

#[test]
fn macros_behave_like_dhat_s() {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if let Some(location) = info.location() {
            *LAST_LOCATION.lock().unwrap() = Some((location.file().to_owned(), location.line()));
        }
        default_hook(info);
    }));

    // Passing forms, including `assert_eq!`'s trailing comma.
    {
        let _profiler = testing_profiler();
        let x = 3;
        dhat::assert!(x == 3);
        dhat::assert!(x == 3, "x was {}", x);
        dhat::assert_eq!(x, 3);
        dhat::assert_eq!(x, 3,);
        dhat::assert_eq!(x, 3, "x was {x}");
        dhat::assert_ne!(x, 4);
        dhat::assert_ne!(x, 4, "x was {}", x);
    }

    // `assert!(cond)` without arguments: a `&'static str`, at the caller's line.
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| {
            dhat::assert!(1 + 1 == 3);
        });
        let line = line!() - 2;
        assert_eq!(static_str(&*payload), "dhat: assertion failed: 1 + 1 == 3");
        assert_eq!(last_location(), (file!().to_owned(), line));
    }

    // With format arguments the payload kind is whatever rustc makes of dhat's expansion
    // (`panic!("...{}: {}", stringify!(cond), format_args!(..))`): current compilers fold
    // all-literal arguments into a `&'static str`, so compare with that shape itself.
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| dhat::assert!(false, "oh {} {}", "dear", 99));
        let reference = payload_of(|| {
            panic!(
                "dhat: assertion failed: {}: {}",
                stringify!(false),
                format_args!("oh {} {}", "dear", 99)
            )
        });
        assert_eq!(
            describe(&*payload),
            describe(&*reference),
            "same kind and text as dhat's expansion"
        );
        assert_eq!(text(&*payload), "dhat: assertion failed: false: oh dear 99");
    }
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| dhat::assert!(1 > 2, "just text"));
        let reference = payload_of(|| {
            panic!(
                "dhat: assertion failed: {}: {}",
                stringify!(1 > 2),
                format_args!("just text")
            )
        });
        assert_eq!(describe(&*payload), describe(&*reference));
        assert_eq!(text(&*payload), "dhat: assertion failed: 1 > 2: just text");
    }
    // A runtime value in the message can never be folded: a String on every compiler, and
    // inline captures work.
    {
        let _profiler = testing_profiler();
        let runtime = std::hint::black_box(7);
        let payload = payload_of(|| dhat::assert!(runtime == 8, "runtime {runtime}"));
        assert_eq!(
            string(&*payload),
            "dhat: assertion failed: runtime == 8: runtime 7"
        );
    }

    // `assert_eq!`: String payload, operands evaluated again to build the message.
    {
        let _profiler = testing_profiler();
        let evaluations = Cell::new(0);
        let left = || {
            evaluations.set(evaluations.get() + 1);
            32
        };
        let payload = payload_of(|| dhat::assert_eq!(left(), 31, "oh dear {}", 99));
        let line = line!() - 1;
        assert_eq!(
            string(&*payload),
            "dhat: assertion failed: `(left == right)`\n  left: `32`,\n right: `31`: oh dear 99"
        );
        assert_eq!(evaluations.get(), 2);
        assert_eq!(last_location(), (file!().to_owned(), line));
    }
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| dhat::assert_eq!(vec![1], vec![2]));
        assert_eq!(
            string(&*payload),
            "dhat: assertion failed: `(left == right)`\n  left: `[1]`,\n right: `[2]`"
        );
    }

    // `assert_ne!`.
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| dhat::assert_ne!(32, 32));
        assert_eq!(
            string(&*payload),
            "dhat: assertion failed: `(left != right)`\n  left: `32`,\n right: `32`"
        );
    }
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| dhat::assert_ne!("a", "a", "{}", 'z'));
        assert_eq!(
            string(&*payload),
            "dhat: assertion failed: `(left != right)`\n  left: `\"a\"`,\n right: `\"a\"`: z"
        );
    }

    // A condition containing braces stays a plain message (it is an argument, not part of
    // the format string), also with format arguments.
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| dhat::assert!({ 1 } == 2));
        assert_eq!(static_str(&*payload), "dhat: assertion failed: { 1 } == 2");
    }
    {
        let _profiler = testing_profiler();
        let payload = payload_of(|| dhat::assert!({ 1 } == 2, "{{ok}} {}", 3));
        assert_eq!(
            text(&*payload),
            "dhat: assertion failed: { 1 } == 2: {ok} 3"
        );
    }

    let _ = std::fs::remove_file(
        std::env::temp_dir().join(format!("mod-alloc-dhat-macros-{}.json", std::process::id())),
    );
}
