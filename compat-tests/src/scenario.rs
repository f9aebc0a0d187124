//! The scenario catalogue.
//!
//! A scenario is one file in `compat-tests/scenarios/`. Its leading `//!`
//! lines may carry annotations of the form `//! compat: <word>[=<value>]`
//! that tell the runner what to expect from it:
//!
//! - `exit=N`: the process is expected to end with status `N` (default 0),
//!   e.g. an uncaught failing `dhat::assert!`.
//! - `order-independent`: the scenario runs threads, so only figures that
//!   do not depend on the interleaving are compared.
//! - `dhat-duplicate-printed-frames`: dhat's own output must contain two
//!   program points whose frame lists print identically once instruction
//!   addresses are removed (dhat issue #29).
//! - `dhat-repeated-fs`: dhat's own output must contain two program points
//!   with the very same `fs` list, which DHAT's viewer rejects with "data
//!   file contains a repeated location", while ours must have none (so the
//!   viewer must accept ours). This is the divergence that pays.
//! - `profile=debug`: both variants build the scenario unoptimised (Cargo's
//!   `dev` profile), as `cargo test` and `cargo run` do, instead of with
//!   `--release`.
//! - `profile=optimised-deps`: both variants build the scenario unoptimised
//!   and its dependencies (mod-alloc, dhat) optimised, with the variant
//!   packages' `deps-opt` profile, a common setup for faster debug builds.
//! - `profile=line-tables`: both variants build the scenario optimised with
//!   `debug = "line-tables-only"` (the variant packages' `line-tables`
//!   profile), whose debug information names functions without their paths.
//! - `profile=size`: both variants build the scenario optimised for size,
//!   `opt-level = "z"` (the variant packages' `size` profile), where rustc
//!   shares generic instances between crates as it does unoptimised.
//! - `libtest`: the scenario is a set of `#[test]` functions, built with
//!   rustc's `--test` (through `cargo rustc`) into a binary whose `main` is
//!   libtest's, as `cargo test` builds an integration test. It runs with
//!   `--test-threads=1`, so tests run one at a time in name order, each on a
//!   thread of its own with its output captured, and only a failing test's
//!   output is printed (to stdout, after all tests). The time libtest prints
//!   is not compared. Such a file needs a `#[cfg(not(test))] fn main` too,
//!   for plain builds of the variant packages.
//!
//! Both variant packages must list every scenario as a `[[bin]]`; the
//! runner checks that here so a forgotten entry is an error, not a silently
//! skipped scenario.

use std::fs;
use std::path::Path;

/// The Cargo profile a scenario is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Debug,
    OptimisedDeps,
    LineTables,
    Size,
}

impl Profile {
    pub const ALL: [Profile; 5] = [
        Profile::Release,
        Profile::Debug,
        Profile::OptimisedDeps,
        Profile::LineTables,
        Profile::Size,
    ];

    /// The name Cargo knows the profile by (`--profile`).
    pub fn cargo_name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "dev",
            Profile::OptimisedDeps => "deps-opt",
            Profile::LineTables => "line-tables",
            Profile::Size => "size",
        }
    }

    /// The directory under the target directory that holds its binaries.
    pub fn directory(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
            Profile::OptimisedDeps => "deps-opt",
            Profile::LineTables => "line-tables",
            Profile::Size => "size",
        }
    }
}

/// One scenario and what its annotations promise.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub expected_exit: i32,
    pub order_independent: bool,
    pub expects_dhat_duplicates: bool,
    pub expects_dhat_repeated_fs: bool,
    pub profile: Profile,
    pub libtest: bool,
}

/// Reads every scenario in `dir`, sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<Scenario>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut scenarios = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("odd scenario file name {}", path.display()))?
            .to_string();
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        scenarios.push(parse(&name, &text)?);
    }
    scenarios.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(scenarios)
}

fn parse(name: &str, text: &str) -> Result<Scenario, String> {
    let mut scenario = Scenario {
        name: name.to_string(),
        expected_exit: 0,
        order_independent: false,
        expects_dhat_duplicates: false,
        expects_dhat_repeated_fs: false,
        profile: Profile::Release,
        libtest: false,
    };
    let annotations = text
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .filter_map(|line| {
            line.trim_start_matches("//!")
                .trim()
                .strip_prefix("compat:")
        });
    for annotation in annotations {
        let annotation = annotation.trim();
        if let Some(code) = annotation.strip_prefix("exit=") {
            scenario.expected_exit = code
                .parse()
                .map_err(|_| format!("{name}: bad exit annotation {annotation:?}"))?;
        } else if annotation == "order-independent" {
            scenario.order_independent = true;
        } else if annotation == "dhat-duplicate-printed-frames" {
            scenario.expects_dhat_duplicates = true;
        } else if annotation == "dhat-repeated-fs" {
            scenario.expects_dhat_repeated_fs = true;
        } else if annotation == "profile=debug" {
            scenario.profile = Profile::Debug;
        } else if annotation == "profile=optimised-deps" {
            scenario.profile = Profile::OptimisedDeps;
        } else if annotation == "profile=line-tables" {
            scenario.profile = Profile::LineTables;
        } else if annotation == "profile=size" {
            scenario.profile = Profile::Size;
        } else if annotation == "libtest" {
            scenario.libtest = true;
        } else {
            return Err(format!("{name}: unknown annotation {annotation:?}"));
        }
    }
    Ok(scenario)
}

/// Checks that a variant manifest has exactly one `[[bin]]` per scenario,
/// pointing at the scenario's file.
pub fn check_manifest(manifest: &Path, scenarios: &[Scenario]) -> Result<(), String> {
    let text = fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let mut problems = Vec::new();
    for scenario in scenarios {
        let entry = format!(
            "name = \"{0}\"\npath = \"../scenarios/{0}.rs\"",
            scenario.name
        );
        if !text.contains(&entry) {
            problems.push(scenario.name.clone());
        }
    }
    let bins = text.matches("[[bin]]").count();
    if problems.is_empty() && bins == scenarios.len() {
        Ok(())
    } else {
        Err(format!(
            "{} lists {bins} binaries for {} scenarios; missing or malformed: {problems:?}",
            manifest.display(),
            scenarios.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_annotations_from_the_leading_doc_comment() {
        let text = "//! compat: exit=101\n//! compat: order-independent\n//! Prose.\nfn main() {}\n// compat: exit=3\n";
        let scenario = parse("x", text).unwrap();
        assert_eq!(scenario.expected_exit, 101);
        assert!(scenario.order_independent);
        assert!(!scenario.expects_dhat_duplicates);
        assert!(!scenario.expects_dhat_repeated_fs);
        assert_eq!(scenario.profile, Profile::Release);
        assert_eq!(
            parse("x", "//! compat: profile=debug\n").unwrap().profile,
            Profile::Debug
        );
        assert_eq!(
            parse("x", "//! compat: profile=optimised-deps\n")
                .unwrap()
                .profile,
            Profile::OptimisedDeps
        );
        assert_eq!(
            parse("x", "//! compat: profile=line-tables\n")
                .unwrap()
                .profile,
            Profile::LineTables
        );
        assert_eq!(
            parse("x", "//! compat: profile=size\n").unwrap().profile,
            Profile::Size
        );
        assert!(parse("x", "//! compat: profile=fast\n").is_err());
        assert!(
            parse("x", "//! compat: dhat-repeated-fs\n")
                .unwrap()
                .expects_dhat_repeated_fs
        );
        assert!(parse("x", "//! compat: libtest\n").unwrap().libtest);
        assert!(!parse("x", "//! compat: exit=101\n").unwrap().libtest);
        assert!(parse("x", "//! compat: bogus\n").is_err());
    }
}
