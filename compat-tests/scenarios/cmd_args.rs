//! The `cmd` field with awkward arguments: the scenario runs itself again
//! with quotes, backslashes, tabs, newlines, unicode and empty arguments,
//! and each child writes its memory output; the parent prints `cmd` with
//! the program path replaced, as escaped in the file and as read back.
#[cfg(feature = "ours")]
use mod_alloc::dhat_compat as dhat;

#[path = "common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 {
        let _p = dhat::Profiler::builder().file_name("child.json").build();
        let v = vec![1u8; args.len()];
        drop(v);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["plain"],
        vec!["a \"quoted\" arg", "back\\slash"],
        vec!["tab\there", "new\nline", "", "ünï 日本 🦀", "\u{1}\u{1f}\u{7f}"],
        vec!["", ""],
    ];
    for (i, case) in cases.iter().enumerate() {
        let out = std::process::Command::new(&exe)
            .args(case)
            .output()
            .unwrap();
        println!("case {i}: status {:?}", out.status.code());
        let text = std::fs::read_to_string("child.json").unwrap();
        let line = text.lines().find(|l| l.starts_with("\"cmd\"")).unwrap();
        let exe_json = exe.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"");
        println!("  raw: {}", line.replace(&exe_json, "<exe>"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("  stderr: {:?}", stderr.lines().collect::<Vec<_>>());
        std::fs::rename("child.json", format!("child-{i}.json")).unwrap();
    }
    common::list_files("end");
}
