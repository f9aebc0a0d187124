//! Hostile file names and command lines under heap profiling: quotes, backslashes, newlines,
//! control characters and bytes that are not UTF-8, in the DHAT file's name, in `argv[0]`
//! and in the arguments.
//!
//! Each scenario runs in a child: this test binary re-executed with `MOD_ALLOC_HOSTILE_CHILD`
//! set. libtest itself refuses arguments that are not UTF-8 (it panics collecting them), so
//! the child's work runs from an ELF constructor, before libtest's `main` parses anything,
//! and ends the process there. The parent checks that the child exited cleanly, that the file
//! exists (or that the one `dhat: error: Writing to … failed:` line appeared), and that every
//! JSON output parses back with serde_json with `cmd` equal to the arguments joined by spaces,
//! lossily for bytes that are not UTF-8. A file whose every write fails (`/dev/full`) gives
//! the error line too, although only the final flush of the buffered file sees the failure.
#![cfg(all(feature = "dhat-compat", target_os = "linux"))]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mod_alloc::dhat_compat as dhat;
use mod_alloc::ModAlloc;

#[global_allocator]
static GLOBAL: ModAlloc = ModAlloc::new();

/// Set in the child: the scenario to run, then the output directory in `MOD_ALLOC_HOSTILE_DIR`.
const CHILD: &str = "MOD_ALLOC_HOSTILE_CHILD";
const DIR: &str = "MOD_ALLOC_HOSTILE_DIR";
/// The file name the child passes to `file_name`, relative to `DIR` (raw bytes allowed).
const NAME: &str = "MOD_ALLOC_HOSTILE_NAME";

/// Runs before `main` (after std has captured the arguments, whose constructor has a higher
/// priority), so libtest never sees the child's arguments.
#[used]
#[link_section = ".init_array"]
static CHILD_ENTRY: extern "C" fn() = child_entry;

extern "C" fn child_entry() {
    let Some(scenario) = std::env::var_os(CHILD) else {
        return;
    };
    // An empty argument list would mean std had not captured them yet: fail loudly.
    if std::env::args_os().next().is_none() {
        std::process::exit(97);
    }
    let dir = PathBuf::from(std::env::var_os(DIR).expect("output directory"));
    let name = dir.join(std::env::var_os(NAME).expect("file name"));
    run_child(scenario.to_str().expect("scenario name"), &dir, &name);
    std::process::exit(0);
}

fn work() -> Vec<String> {
    (0..20).map(|i| format!("block {i}")).collect()
}

fn run_child(scenario: &str, dir: &Path, name: &Path) {
    match scenario {
        // The file written at drop.
        "at-drop" => {
            let _profiler = dhat::Profiler::builder().file_name(name).build();
            let kept = work();
            std::hint::black_box(&kept);
        }
        // The on-demand writers, each to its own output; then the file at drop.
        "on-demand" => {
            let profiler = dhat::Profiler::builder().file_name(name).build();
            let kept = work();
            std::fs::write(
                dir.join("json_string.json"),
                profiler.json_string().unwrap(),
            )
            .unwrap();
            let mut buffer = Vec::new();
            profiler.write_json_to(&mut buffer).unwrap();
            std::fs::write(dir.join("write_json_to.json"), buffer).unwrap();
            let mut on_demand = name.as_os_str().to_owned();
            on_demand.push(".on-demand");
            GLOBAL.write_dhat_json(&on_demand).unwrap();
            drop(kept);
            drop(profiler);
        }
        // Memory output: returned, not written.
        "memory" => {
            let mut profiler =
                std::mem::ManuallyDrop::new(dhat::Profiler::builder().file_name(name).build());
            let kept = work();
            std::hint::black_box(&kept);
            let json = profiler.drop_and_get_memory_output();
            std::fs::write(dir.join("memory.json"), json).unwrap();
        }
        // One small block: the profile stays in the file writer's buffer until the final flush.
        "small" => {
            let _profiler = dhat::Profiler::builder().file_name(name).build();
            std::hint::black_box(Box::new(1u64));
        }
        // The on-demand writer refuses a path it cannot create, and says why.
        "on-demand-unwritable" => {
            let _profiler = dhat::Profiler::builder().testing().build();
            let error = GLOBAL.write_dhat_json(name).unwrap_err();
            eprintln!("on-demand error: {error}");
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// A fresh, empty directory for one child.
fn scratch(label: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mod-alloc-hostile-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Re-executes this binary with `argv[0]` and arguments of our choosing.
fn spawn(scenario: &str, dir: &Path, name: &OsStr, arg0: &OsStr, args: &[OsString]) -> Output {
    let output = Command::new(std::env::current_exe().unwrap())
        .arg0(arg0)
        .args(args)
        .env(CHILD, scenario)
        .env(DIR, dir)
        .env(NAME, name)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "child {scenario} with {name:?} failed: {output:?}"
    );
    output
}

/// What `cmd` must be: the arguments joined by single spaces, each decoded lossily.
fn expected_cmd(arg0: &OsStr, args: &[OsString]) -> String {
    std::iter::once(arg0)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses `path` and checks what every DHAT document must hold, whatever the input was.
fn check_document(path: &Path, cmd: &str) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8(bytes).expect("the JSON is UTF-8");
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
    assert_eq!(value["cmd"].as_str(), Some(cmd), "{}", path.display());
    assert_eq!(value["dhatFileVersion"], 2);
    let frames = value["ftbl"].as_array().expect("ftbl");
    assert!(frames.iter().all(serde_json::Value::is_string));
    for pp in value["pps"].as_array().expect("pps") {
        for index in pp["fs"].as_array().expect("fs") {
            assert!((index.as_u64().unwrap() as usize) < frames.len());
        }
    }
    value
}

/// Hostile pieces of text, as raw bytes.
fn hostile() -> Vec<Vec<u8>> {
    vec![
        b"plain".to_vec(),
        b"double\"quote".to_vec(),
        b"single'quote".to_vec(),
        b"back\\slash\\\\".to_vec(),
        b"new\nline\r\n".to_vec(),
        b"tab\tbell\x07esc\x1b[31mdel\x7f".to_vec(),
        b"\\u0000 and \\\" look like escapes".to_vec(),
        "unicode \u{e9}\u{2028}\u{2029}\u{1f600}"
            .as_bytes()
            .to_vec(),
        b"not utf8 \xff\xfe\xc3(".to_vec(),
        b"lone surrogate \xed\xa0\x80".to_vec(),
        b"{\"json\": [1, 2]}".to_vec(),
        Vec::new(),
    ]
}

/// A file name from hostile bytes: non-empty and without `/` (one path component).
fn file_name(index: usize, bytes: &[u8]) -> OsString {
    let mut name = format!("{index}-").into_bytes();
    name.extend(bytes.iter().map(|&b| if b == b'/' { b'_' } else { b }));
    name.extend_from_slice(b".json");
    OsString::from_vec(name)
}

#[test]
fn hostile_names_and_arguments_round_trip() {
    if std::env::var_os(CHILD).is_some() {
        return; // unreachable: the constructor ended the child
    }
    let pieces = hostile();
    let args: Vec<OsString> = pieces.iter().cloned().map(OsString::from_vec).collect();
    let arg0 = OsString::from_vec(b"./prog \"name\"\n\\\xff".to_vec());
    let cmd = expected_cmd(&arg0, &args);
    assert!(cmd.contains('\u{fffd}') && cmd.contains('\n') && cmd.contains('"'));

    // Every hostile file name, written at drop: the file exists under its exact bytes.
    for (index, piece) in pieces.iter().enumerate() {
        let dir = scratch(&format!("drop{index}"));
        let name = file_name(index, piece);
        let output = spawn("at-drop", &dir, &name, &arg0, &args);
        let path = dir.join(&name);
        check_document(&path, &cmd);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let saved = format!(
            "dhat: The data has been saved to {}, and is viewable",
            path.to_string_lossy()
        );
        assert!(stderr.contains(&saved), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // The on-demand writers agree with the file written at drop on every string.
    let dir = scratch("on-demand");
    let name = file_name(99, b"on \"demand\"\n\xff");
    spawn("on-demand", &dir, &name, &arg0, &args);
    let at_drop = check_document(&dir.join(&name), &cmd);
    let mut on_demand_name = name.clone();
    on_demand_name.push(".on-demand");
    for path in [
        dir.join("json_string.json"),
        dir.join("write_json_to.json"),
        dir.join(&on_demand_name),
    ] {
        let value = check_document(&path, &cmd);
        assert_eq!(value["mode"], at_drop["mode"]);
        assert_eq!(value["pid"], at_drop["pid"]);
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // Memory output: same strings, nothing written under the file name.
    let dir = scratch("memory");
    let name = file_name(98, b"memory\xff");
    spawn("memory", &dir, &name, &arg0, &args);
    check_document(&dir.join("memory.json"), &cmd);
    assert!(!dir.join(&name).exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_unwritable_names_give_one_error_line() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let arg0 = OsString::from("prog");
    // A missing directory whose name is itself hostile.
    let dir = scratch("unwritable");
    let name = OsString::from_vec(b"missing \"dir\"\n\xff/x.json".to_vec());
    let output = spawn("at-drop", &dir, &name, &arg0, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let path = dir.join(&name);
    let expected = format!(
        "dhat: error: Writing to {} failed: No such file or directory (os error 2)",
        path.to_string_lossy()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(stderr.matches("dhat: error:").count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!path.exists());

    // The on-demand writer returns the error instead.
    let output = spawn("on-demand-unwritable", &dir, &name, &arg0, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("on-demand error: No such file or directory"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // A directory that is a regular file, and a read-only directory: one error line each.
    let dir = scratch("read-only");
    std::fs::write(dir.join("a-file"), b"").unwrap();
    let mut cases = vec![(
        OsString::from("a-file/x.json"),
        "Not a directory (os error 20)",
    )];
    let read_only = dir.join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    let mut permissions = std::fs::metadata(&read_only).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&read_only, permissions.clone()).unwrap();
    if std::fs::write(read_only.join("probe"), b"").is_ok() {
        // Root ignores directory permissions; the file-as-directory case still runs.
        eprintln!("note: this user can write into a read-only directory; that case is skipped");
    } else {
        cases.push((
            OsString::from("read-only/x\"\n.json"),
            "Permission denied (os error 13)",
        ));
    }
    for (name, reason) in cases {
        let output = spawn("at-drop", &dir, &name, &arg0, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = format!(
            "dhat: error: Writing to {} failed: {reason}",
            dir.join(&name).to_string_lossy()
        );
        assert!(stderr.contains(&expected), "{stderr}");
        assert_eq!(stderr.matches("dhat: error:").count(), 1, "{stderr}");
    }
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&read_only, permissions).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    // The bytes of the name reach the file system unchanged (no lossy detour).
    let raw = OsStr::from_bytes(b"\xff");
    assert_eq!(Path::new(raw).as_os_str().as_bytes(), b"\xff");
}

/// dhat drops its buffered file without looking at the final flush; mod-alloc reports a write
/// error that only the flush can see with the same one line as any other. `/dev/full` opens
/// fine and fails every write with ENOSPC, and a small profile reaches it only at that flush.
#[test]
fn a_failed_final_flush_gives_one_error_line() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let arg0 = OsString::from("prog");
    let dir = scratch("full");
    // The same scenario into a regular file shows the profile fits in `BufWriter`'s buffer
    // (8 KiB), so nothing is written before the flush.
    let name = OsString::from("small.json");
    spawn("small", &dir, &name, &arg0, &[]);
    let size = std::fs::metadata(dir.join(&name)).unwrap().len();
    assert!(
        size < 8 * 1024,
        "a {size}-byte profile is no longer small: writes before the flush would fail first"
    );

    // An absolute name replaces the scratch directory in `dir.join(name)`. `spawn` checks the
    // child exited with status 0.
    let output = spawn("small", &dir, OsStr::new("/dev/full"), &arg0, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("dhat: error:"))
        .collect();
    assert_eq!(
        errors,
        ["dhat: error: Writing to /dev/full failed: No space left on device (os error 28)"],
        "{stderr}"
    );
    assert!(!stderr.contains("has been saved"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("dhat: Total:"),
        "the summary still printed: {stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
