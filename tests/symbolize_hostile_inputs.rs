//! `Symbolizer::resolve_in_file` takes any path and any address from its caller: neither a
//! special file nor an address at the very top of the address space may hang it or panic.

#![cfg(feature = "symbolicate")]

use std::sync::atomic::{AtomicUsize, Ordering};

use mod_alloc::{ModAlloc, Symbol, Symbolizer};

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

#[cfg(unix)]
use std::path::Path;

#[cfg(unix)]
const NOTE_PREFIX: &str = "mod-alloc: no symbols for ";

/// Runs `work` on its own thread and fails the test if it has not finished within a
/// generous deadline (a hang would otherwise stall the whole suite).
#[cfg(unix)]
fn finishes_within<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    use std::sync::mpsc;
    use std::time::Duration;

    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    match receiver.recv_timeout(Duration::from_secs(20)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not return within 20 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// Resolves `address` in the file at `path` with a fresh symbolizer: the frames and notes.
#[cfg(unix)]
fn resolve_in_file(path: &Path, address: u64) -> (Vec<Symbol>, Vec<String>) {
    let mut symbolizer = Symbolizer::new();
    let frames = symbolizer.resolve_in_file(path, address).to_vec();
    (frames, symbolizer.notes().to_vec())
}

#[cfg(target_os = "linux")]
extern "C" {
    fn mkfifo(path: *const std::ffi::c_char, mode: u32) -> std::ffi::c_int;
}

/// Opening a FIFO for reading blocks until a writer appears, and reading one never ends
/// while a writer stays: it must be refused as "not a file", with the usual note.
#[cfg(target_os = "linux")]
#[test]
fn a_fifo_is_refused_at_once_with_a_note() {
    use std::os::unix::ffi::OsStrExt;

    let directory = std::env::temp_dir().join(format!("mod-alloc-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let fifo = directory.join("not-an-object-file");
    let _ = std::fs::remove_file(&fifo);
    let name = std::ffi::CString::new(fifo.as_os_str().as_bytes()).expect("no NUL in path");
    // SAFETY: `name` is a NUL-terminated path that outlives the call.
    let made = unsafe { mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo: {}", std::io::Error::last_os_error());

    let path = fifo.clone();
    let (frames, notes) = finishes_within("resolving in a FIFO", move || {
        resolve_in_file(&path, 0x1000)
    });
    let _ = std::fs::remove_dir_all(&directory);
    assert_eq!(
        frames,
        vec![Symbol::default()],
        "nothing resolves in a FIFO"
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with(NOTE_PREFIX), "{notes:?}");
    assert!(notes[0].contains("not-an-object-file"), "{notes:?}");
}

/// Resolving in the special file at `path` returns at once with nothing but the module's
/// note.
#[cfg(unix)]
fn refused_at_once_with_a_note(path: &'static str) {
    let (frames, notes) = finishes_within(&format!("resolving in {path}"), || {
        resolve_in_file(Path::new(path), 0x1000)
    });
    assert_eq!(frames, vec![Symbol::default()], "{path}");
    assert_eq!(notes.len(), 1, "{path}: {notes:?}");
    assert!(notes[0].starts_with(NOTE_PREFIX), "{path}: {notes:?}");
}

/// A character device would be read until memory runs out.
#[cfg(unix)]
#[test]
fn a_device_is_refused_at_once_with_a_note() {
    refused_at_once_with_a_note("/dev/zero");
}

/// Files in `/proc` report a size of 0; `pagemap` holds 8 bytes for every page of the
/// address space, which a read to the end would try to copy into memory.
#[cfg(target_os = "linux")]
#[test]
fn a_file_that_reports_no_size_is_refused_at_once_with_a_note() {
    refused_at_once_with_a_note("/proc/self/pagemap");
}

/// Panics seen by the hook on threads whose name contains `top_address`.
static TOP_ADDRESS_PANICS: AtomicUsize = AtomicUsize::new(0);

/// `addr2line` probes `address..address + 1`, which overflows at `u64::MAX` (a panic in
/// debug builds). The symbolizer must never hand it that address: no panic, even a caught one.
#[test]
fn the_top_address_resolves_to_nothing_without_a_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_this_test = std::thread::current()
            .name()
            .is_some_and(|name| name.contains("top_address"));
        if on_this_test {
            TOP_ADDRESS_PANICS.fetch_add(1, Ordering::Relaxed);
        }
        previous(info);
    }));
    let this_binary = std::env::current_exe().expect("current exe");
    let mut symbolizer = Symbolizer::new();
    // The binary is readable and has DWARF: a real address resolves, so the top one reaches
    // the DWARF lookup rather than stopping at an unreadable file.
    let probe = the_top_address_resolves_to_nothing_without_a_panic as fn() as usize;
    let known = symbolizer.resolve_code_address(probe).to_vec();
    assert!(known[0].is_resolved(), "{known:?}");
    for address in [u64::MAX, u64::MAX - 1] {
        let frames = symbolizer.resolve_in_file(&this_binary, address).to_vec();
        assert_eq!(frames, vec![Symbol::default()], "{address:#x}");
    }
    let top = symbolizer.resolve_code_address(usize::MAX).to_vec();
    assert_eq!(top, vec![Symbol::default()]);
    assert_eq!(
        TOP_ADDRESS_PANICS.load(Ordering::Relaxed),
        0,
        "a panic was caught"
    );
}
