//! Shared helpers for the process-per-scenario tests. Each test file is its own binary with
//! `harness = false`: `main` runs the checks in order on the main thread, so no test-runner
//! thread allocates while a window is open.

#![allow(dead_code)] // each binary uses a subset

/// Runs one named check, printing a libtest-like line.
pub fn check(name: &str, f: impl FnOnce()) {
    f();
    println!("test {name} ... ok");
}

/// Ends the process with `message` if it is still running after `limit`, for a test whose
/// failure could be a hang (a deadlock or a spin in the allocator): it then fails instead of
/// holding CI up until the job's timeout. Once it has started, the watchdog thread never
/// allocates, since the allocator may be what is stuck: it sleeps, writes the message
/// straight to stderr and aborts. So that none of its own start-up allocations (the standard
/// library's thread set-up) falls inside the test either, this returns only after that
/// start-up has finished.
///
/// The message names the `test`, the limit, and what a hang would most likely mean.
pub fn start_watchdog(limit: std::time::Duration, test: &str, likely_cause: &str) {
    let seconds = limit.as_secs();
    let message = format!("{test}: not finished after {seconds} s ({likely_cause})\n");
    let started = std::sync::Arc::new(std::sync::Barrier::new(2));
    let watchdog_started = std::sync::Arc::clone(&started);
    std::thread::spawn(move || {
        watchdog_started.wait();
        std::thread::sleep(limit);
        write_stderr_unlocked(message.as_bytes());
        std::process::abort();
    });
    started.wait();
}

/// Waits until another thread sets `flag`, or `limit` passes; whether it was set. It yields
/// rather than sleeps, so a caller that times what follows sees the flag at once.
pub fn wait_for(flag: &std::sync::atomic::AtomicBool, limit: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    while !flag.load(std::sync::atomic::Ordering::Acquire) {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// Writes to file descriptor 2 without taking `std::io::stderr`'s lock, which a stuck thread
/// may hold (a panic message is printed under it, and printing allocates).
#[cfg(unix)]
fn write_stderr_unlocked(message: &[u8]) {
    use std::os::unix::io::FromRawFd;
    // SAFETY: descriptor 2 is open for the life of the process; `ManuallyDrop` keeps this
    // `File` from closing it.
    let mut stderr = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
    let _ = std::io::Write::write_all(&mut *stderr, message);
}

/// Elsewhere through `std::io::stderr`, lock and all.
#[cfg(not(unix))]
fn write_stderr_unlocked(message: &[u8]) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), message);
}

/// Prints the closing line a test runner would.
pub fn finish(passed: usize) {
    println!("\ntest result: ok. {passed} passed; 0 failed");
}

/// A command that runs the ignored test `name` of the test binary `binary` alone, its output
/// not captured: how a test starts the body of its child process.
pub fn child_test(binary: &std::path::Path, name: &str) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    command
}

/// Block sizes of [`allocate_first`] and [`allocate_second`]: two call sites, each with a size
/// no other allocation in the tests has.
pub const FIRST_SIZE: usize = 1_234;
pub const SECOND_SIZE: usize = 4_321;

/// Allocates and frees `FIRST_SIZE` bytes from a call site of its own.
#[inline(never)]
pub fn allocate_first() {
    drop(std::hint::black_box(Vec::<u8>::with_capacity(FIRST_SIZE)));
}

/// Allocates and frees `SECOND_SIZE` bytes from another call site of its own.
#[inline(never)]
pub fn allocate_second() {
    drop(std::hint::black_box(Vec::<u8>::with_capacity(SECOND_SIZE)));
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

/// A heap profile's totals, as `dhat_compat::HeapStats` reports them.
#[derive(Clone, Copy, Debug)]
pub struct Totals {
    pub total_blocks: u64,
    pub total_bytes: u64,
    pub curr_blocks: u64,
    pub curr_bytes: u64,
    pub max_blocks: u64,
    pub max_bytes: u64,
}

#[cfg(feature = "dhat-compat")]
impl From<&mod_alloc::dhat_compat::HeapStats> for Totals {
    fn from(stats: &mod_alloc::dhat_compat::HeapStats) -> Totals {
        Totals {
            total_blocks: stats.total_blocks,
            total_bytes: stats.total_bytes,
            curr_blocks: stats.curr_blocks as u64,
            curr_bytes: stats.curr_bytes as u64,
            max_blocks: stats.max_blocks as u64,
            max_bytes: stats.max_bytes as u64,
        }
    }
}

/// Checks the invariants of a DHAT heap profile: per program point `gb` and `eb` are at most
/// `mb`, and `mb` and `mbk` at most `tb` and `tbk` (block counts have no such bound against
/// `mbk`: `mbk` is the count at the point's byte peak, which can be below its count at the
/// global peak); no two points share a frame list; `tg` is
/// not after `te`; and, given the totals, Σtb, Σtbk, Σgb, Σgbk, Σeb and Σebk equal them.
pub fn assert_heap_profile(profile: &serde_json::Value, totals: Option<Totals>) {
    let pps = profile["pps"].as_array().expect("pps");
    let mut frame_lists = std::collections::HashSet::new();
    for pp in pps {
        let get = |key: &str| pp[key].as_u64().unwrap_or_else(|| panic!("{key} in {pp}"));
        assert!(get("gb") <= get("mb") && get("eb") <= get("mb"), "{pp}");
        assert!(get("mb") <= get("tb") && get("mbk") <= get("tbk"), "{pp}");
        assert!(
            frame_lists.insert(pp["fs"].to_string()),
            "repeated fs {}",
            pp["fs"]
        );
    }
    assert!(
        profile["te"].as_u64() >= profile["tg"].as_u64(),
        "tg after te"
    );
    if let Some(totals) = totals {
        let sum = |key: &str| pps.iter().map(|pp| pp[key].as_u64().unwrap()).sum::<u64>();
        assert_eq!(sum("tb"), totals.total_bytes);
        assert_eq!(sum("tbk"), totals.total_blocks);
        assert_eq!(sum("gb"), totals.max_bytes);
        assert_eq!(sum("gbk"), totals.max_blocks);
        assert_eq!(sum("eb"), totals.curr_bytes);
        assert_eq!(sum("ebk"), totals.curr_blocks);
    }
}

/// Set to `present` by the test command's steps that build with
/// `-C force-frame-pointers=yes` (and to `missing` where a build must lack them).
pub const EXPECT_FRAME_POINTERS: &str = "MOD_ALLOC_EXPECT_FRAME_POINTERS";

/// Called when a check that needs frame pointers finds none in this build. Where the build
/// may lack them the check is skipped (or narrowed), and `consequence` says how; where the
/// test command promised them (`MOD_ALLOC_EXPECT_FRAME_POINTERS=present`), a skip would hide
/// a broken walker, so this panics with `finding`.
pub fn frame_pointers_not_found(finding: &str, consequence: &str) {
    if std::env::var(EXPECT_FRAME_POINTERS).as_deref() == Ok("present") {
        panic!(
            "{EXPECT_FRAME_POINTERS}=present, but {finding}: this build was meant to keep \
             frame pointers (is `-C force-frame-pointers=yes` in RUSTFLAGS?), or the walk is \
             broken"
        );
    }
    eprintln!("note: {finding} (built without frame pointers?); {consequence}");
}

/// Whether the walker's self-test finds this build without frame pointers, for a check that
/// needs them and is then skipped. A skip is reported through [`frame_pointers_not_found`], so
/// where the test command promised frame pointers it fails instead.
#[cfg(feature = "backtraces")]
pub fn skip_without_frame_pointers() -> bool {
    if !mod_alloc::__private::walk::frame_pointers_look_missing() {
        return false;
    }
    frame_pointers_not_found("the walker's self-test found no frame pointers", "skipped");
    true
}

/// Each program point of a DHAT document as its total bytes (`tb`) and the function names of
/// its frames, top first.
pub fn program_point_functions(json: &str) -> Vec<(u64, Vec<String>)> {
    let json: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    let ftbl = json["ftbl"].as_array().expect("an ftbl");
    json["pps"]
        .as_array()
        .expect("a pps array")
        .iter()
        .map(|pp| {
            let names = pp["fs"]
                .as_array()
                .expect("an fs list")
                .iter()
                .map(|index| {
                    let frame = ftbl[index.as_u64().unwrap() as usize].as_str().unwrap();
                    // `0x…: name (file:line:col)`
                    let (_, rest) = frame.split_once(": ").expect("an address");
                    let (name, _) = rest.rsplit_once(" (").expect("a location");
                    name.to_owned()
                })
                .collect();
            (pp["tb"].as_u64().unwrap(), names)
        })
        .collect()
}

/// Forked children with a deadline (Linux), for the tests that fork while other threads hold
/// the crate's locks: a child that would hang is killed and reported, not waited for.
#[cfg(target_os = "linux")]
pub mod fork {
    use std::time::{Duration, Instant};

    extern "C" {
        fn fork() -> i32;
        fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
        fn kill(pid: i32, signal: i32) -> i32;
        fn _exit(code: i32) -> !;
        fn pthread_atfork(
            prepare: Option<extern "C" fn()>,
            parent: Option<extern "C" fn()>,
            child: Option<extern "C" fn()>,
        ) -> i32;
    }

    const WNOHANG: i32 = 1;
    const SIGKILL: i32 = 9;

    /// Registers fork handlers of the test's own (`pthread_atfork`); whether that worked.
    pub fn register_handlers(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> bool {
        // SAFETY: the handlers are plain functions, which live for the whole process.
        unsafe { pthread_atfork(prepare, parent, child) == 0 }
    }

    /// How a child ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Child {
        /// Exited with status 0.
        Passed,
        /// Exited otherwise, with this wait status.
        Failed(i32),
        /// Still running at the deadline; killed.
        Hung,
    }

    /// Forks; the child runs `body` and exits with 0 if it returns `true`, 1 otherwise,
    /// without running the parent's exit handlers. The parent waits up to `deadline`.
    pub fn run_child(deadline: Duration, body: impl FnOnce() -> bool) -> Child {
        // SAFETY: the child runs `body` and leaves with `_exit`; callers keep `body` to
        // allocating, reading profiles and looking up symbols.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let passed = body();
            // SAFETY: ends the child at once.
            unsafe { _exit(if passed { 0 } else { 1 }) }
        }
        let start = Instant::now();
        let mut status = 0;
        loop {
            // SAFETY: `pid` is our child and `status` a valid out-pointer.
            let done = unsafe { waitpid(pid, &mut status, WNOHANG) };
            assert!(done >= 0, "waitpid failed");
            if done == pid {
                return if status == 0 {
                    Child::Passed
                } else {
                    Child::Failed(status)
                };
            }
            if start.elapsed() > deadline {
                // SAFETY: signals our own child, then reaps it.
                unsafe {
                    kill(pid, SIGKILL);
                    waitpid(pid, &mut status, 0);
                }
                return Child::Hung;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
