//! Differential tests of `mod_alloc::dhat_compat` against dhat 0.3.3.
//!
//! Every scenario in `compat-tests/scenarios/` is one program that uses the
//! dhat API through the name `dhat`. The package `with-dhat` builds each one
//! against the real dhat 0.3.3 from crates.io; `with-ours` builds the same
//! source with the feature `ours`, whose only effect is the scenario's line
//! `use mod_alloc::dhat_compat as dhat;`. This runner builds both, runs each
//! binary in an empty directory, and compares what the two did (see
//! [`compare`] for the checks). A difference is a failure unless the
//! divergence table excuses it and MIGRATING_FROM_DHAT.md documents it.
//!
//! `--dhat-only` skips our variant. It still proves the harness: every
//! scenario must build, exit as annotated, and produce files that satisfy
//! dhat's own accounting (its known duplicate-`fs` flaw is reported, not
//! failed). Either way the runner writes `viewer-manifest.json` listing
//! every JSON file with what Valgrind's viewer should make of it, for
//! `scripts/viewer/check.mjs`.
//!
//! Usage (from the repository root, normally through `scripts/compat.sh`):
//! `compat-tests [--dhat-only] [--no-build] [--out DIR] [SCENARIO…]`.

mod compare;
mod dhat_json;
mod divergences;
mod observe;
mod scenario;

use observe::Observation;
use scenario::{Profile, Scenario};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

struct Options {
    dhat_only: bool,
    build: bool,
    out: PathBuf,
    only: Vec<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        dhat_only: false,
        build: true,
        out: PathBuf::from("artifacts/compat"),
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dhat-only" => options.dhat_only = true,
            "--no-build" => options.build = false,
            "--out" => options.out = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            "-h" | "--help" => {
                return Err(
                    "usage: compat-tests [--dhat-only] [--no-build] [--out DIR] [SCENARIO...]"
                        .into(),
                )
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => options.only.push(arg),
        }
    }
    Ok(options)
}

/// The two builds of the scenarios.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Dhat,
    Ours,
}

impl Variant {
    fn package_dir(self) -> &'static str {
        match self {
            Variant::Dhat => "compat-tests/with-dhat",
            Variant::Ours => "compat-tests/with-ours",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Variant::Dhat => "dhat",
            Variant::Ours => "ours",
        }
    }
}

/// Where a variant's scenario binaries are built. Absolute, because each scenario then runs
/// in a scratch directory of its own.
fn target_dir(variant: Variant) -> PathBuf {
    let base =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let base = if base.is_absolute() {
        base
    } else {
        std::env::current_dir().map_or(base.clone(), |cwd| cwd.join(base))
    };
    base.join(format!("compat-{}", variant.label()))
}

/// Builds the scenario binaries of `variant`, one cargo run per profile
/// they use, and one more for each `libtest` scenario; on failure returns
/// cargo's last lines.
fn build(variant: Variant, scenarios: &[Scenario]) -> Result<(), String> {
    for profile in Profile::ALL {
        let names: Vec<&str> = scenarios
            .iter()
            .filter(|s| s.profile == profile && !s.libtest)
            .map(|s| s.name.as_str())
            .collect();
        if !names.is_empty() {
            build_profile(variant, profile, &names, false)?;
        }
    }
    for scenario in scenarios.iter().filter(|s| s.libtest) {
        build_profile(variant, scenario.profile, &[&scenario.name], true)?;
    }
    Ok(())
}

/// Builds `names` with `profile`. With `libtest`, the one scenario named is
/// built by `cargo rustc` with rustc's `--test`, which gives it libtest's
/// `main`, as `cargo test` does; the binary lands where `cargo build` puts it.
fn build_profile(
    variant: Variant,
    profile: Profile,
    names: &[&str],
    libtest: bool,
) -> Result<(), String> {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .args([
            if libtest { "rustc" } else { "build" },
            "--profile",
            profile.cargo_name(),
        ])
        .args(["--quiet", "--manifest-path"])
        .arg(Path::new(variant.package_dir()).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir(variant));
    for name in names {
        command.args(["--bin", name]);
    }
    if libtest {
        command.args(["--", "--test"]);
    }
    if variant == Variant::Ours {
        // mod-alloc's call-site capture walks frame pointers.
        let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
        flags.push_str(" -C force-frame-pointers=yes");
        command.env("RUSTFLAGS", flags.trim());
    }
    eprintln!(
        "building the {} variant ({}{}) ...",
        variant.label(),
        profile.directory(),
        if libtest { ", libtest" } else { "" }
    );
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Err(format!(
        "cargo build failed for {}:\n{tail}",
        variant.package_dir()
    ))
}

fn binary(variant: Variant, scenario: &Scenario) -> PathBuf {
    let file = format!("{}{}", scenario.name, std::env::consts::EXE_SUFFIX);
    target_dir(variant)
        .join(scenario.profile.directory())
        .join(file)
}

/// The outcome of one scenario.
struct Verdict {
    failures: Vec<String>,
    notes: Vec<String>,
}

/// What dhat itself must do in a scenario, whatever our variant does.
fn check_reference(scenario: &Scenario, run: &Observation, verdict: &mut Verdict) {
    let expected = format!("exit {}", scenario.expected_exit);
    if run.exit != expected {
        verdict
            .failures
            .push(format!("dhat: expected {expected}, got {}", run.exit));
    }
    for problem in &run.invariants {
        if problem.contains("the same fs as an earlier point") {
            verdict.notes.push(format!("dhat flaw (#29): {problem}"));
        } else {
            verdict.failures.push(format!("dhat invariant: {problem}"));
        }
    }
    if scenario.expects_dhat_repeated_fs {
        let repeated = run
            .documents
            .values()
            .any(|d| d.facts.as_ref().is_ok_and(|f| f.has_duplicate_fs));
        if !repeated {
            verdict.failures.push(
                "dhat was expected to write two program points with the same fs list \
                 (the file DHAT's viewer rejects); it did not"
                    .into(),
            );
        }
    }
    if scenario.expects_dhat_duplicates {
        let duplicated = run.documents.values().any(|d| {
            d.facts
                .as_ref()
                .map(dhat_json::has_duplicate_printed_frames)
                .unwrap_or(false)
        });
        if duplicated {
            verdict
                .notes
                .push("dhat printed identical frame lists for distinct program points".into());
        } else {
            verdict.failures.push(
                "dhat was expected to print identical frame lists for distinct program points"
                    .into(),
            );
        }
    }
}

fn check_ours(
    scenario: &Scenario,
    reference: &Observation,
    ours: &Observation,
    guide: Option<&str>,
    verdict: &mut Verdict,
) {
    let expected = format!("exit {}", scenario.expected_exit);
    if ours.exit != expected {
        verdict
            .failures
            .push(format!("ours: expected {expected}, got {}", ours.exit));
    }
    for problem in &ours.invariants {
        verdict.failures.push(format!("ours invariant: {problem}"));
    }
    if scenario.expects_dhat_repeated_fs && ours.documents.is_empty() {
        verdict
            .failures
            .push("ours wrote no file, so the viewer cannot show that it accepts ours".into());
    }
    for difference in compare::compare(reference, ours) {
        match divergences::excuse(&scenario.name, &difference) {
            Some(entry) if is_documented(guide, entry) => verdict.notes.push(format!(
                "documented divergence ({}, see \"{}\" / \"{}\"): {}",
                difference.check, entry.section, entry.item, difference.detail
            )),
            Some(entry) => verdict.failures.push(format!(
                "{}: {} (the divergence table cites {}, which MIGRATING_FROM_DHAT.md does not document)",
                difference.check,
                difference.detail,
                describe_entry(entry)
            )),
            None => verdict.failures.push(format!("{}: {}", difference.check, difference.detail)),
        }
    }
}

fn is_documented(guide: Option<&str>, entry: &divergences::Divergence) -> bool {
    guide.is_some_and(|text| divergences::documented(text, entry.section, entry.item))
}

fn describe_entry(entry: &divergences::Divergence) -> String {
    format!(
        "the item **{}** under the heading \"{}\"",
        entry.item, entry.section
    )
}

/// Appends the viewer's expectations for every file of a run.
fn add_viewer_entries(
    manifest: &mut Vec<serde_json::Value>,
    variant: Variant,
    scenario: &Scenario,
    run: &Observation,
) {
    for (name, document) in &run.documents {
        let (Some(path), Ok(facts)) = (&document.path, &document.facts) else {
            continue;
        };
        let sum = |key: &str| facts.sums.get(key).copied().unwrap_or(0);
        // A `dhat-repeated-fs` scenario fixes the verdicts in advance: dhat's
        // file must be rejected and ours accepted, whatever the facts say.
        let reject = if scenario.expects_dhat_repeated_fs {
            matches!(variant, Variant::Dhat)
        } else {
            facts.has_duplicate_fs
        };
        manifest.push(serde_json::json!({
            "variant": variant.label(),
            "scenario": scenario.name,
            "file": name,
            "path": path.to_string_lossy(),
            "heap": facts.is_heap,
            "expect": if reject { "reject" } else { "accept" },
            "expectedError": if reject { "data file contains a repeated location" } else { "" },
            "totalBytes": sum("tb"),
            "totalBlocks": sum("tbk"),
            "gmaxBytes": sum("gb"),
            "gmaxBlocks": sum("gbk"),
            "endBytes": sum("eb"),
            "endBlocks": sum("ebk"),
            "points": facts.numbers.len(),
        }));
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("compat-tests: {message}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<bool, String> {
    let options = parse_args()?;
    let scenario_dir = Path::new("compat-tests/scenarios");
    if !scenario_dir.is_dir() {
        return Err("run me from the repository root (compat-tests/scenarios not found)".into());
    }
    let all = scenario::discover(scenario_dir)?;
    for variant in [Variant::Dhat, Variant::Ours] {
        scenario::check_manifest(&Path::new(variant.package_dir()).join("Cargo.toml"), &all)?;
    }
    let known: BTreeSet<&str> = all.iter().map(|s| s.name.as_str()).collect();
    if let Some(unknown) = options.only.iter().find(|n| !known.contains(n.as_str())) {
        return Err(format!("no scenario named {unknown:?}; known: {known:?}"));
    }
    let selected: Vec<Scenario> = all
        .into_iter()
        .filter(|s| options.only.is_empty() || options.only.contains(&s.name))
        .collect();

    let guide = fs::read_to_string("MIGRATING_FROM_DHAT.md").ok();
    let mut table_problems = Vec::new();
    let relevant = |scenario: &str| scenario == "*" || selected.iter().any(|s| s.name == scenario);
    for entry in divergences::DIVERGENCES
        .iter()
        .filter(|d| relevant(d.scenario))
    {
        if !is_documented(guide.as_deref(), entry) {
            table_problems.push(format!(
                "divergence table entry ({}, {}) cites {}, which MIGRATING_FROM_DHAT.md does not document",
                entry.scenario,
                entry.check,
                describe_entry(entry)
            ));
        }
    }

    if options.build {
        build(Variant::Dhat, &selected)?;
    }
    let ours_build = if options.dhat_only {
        None
    } else if options.build {
        Some(build(Variant::Ours, &selected))
    } else {
        Some(Ok(()))
    };

    let mut manifest = Vec::new();
    let mut report = String::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for scenario in &selected {
        let mut verdict = Verdict {
            failures: Vec::new(),
            notes: Vec::new(),
        };
        let dir = |v: Variant| options.out.join(v.label()).join(&scenario.name);
        let reference = observe::run(
            &binary(Variant::Dhat, scenario),
            scenario,
            &dir(Variant::Dhat),
        )?;
        check_reference(scenario, &reference, &mut verdict);
        add_viewer_entries(&mut manifest, Variant::Dhat, scenario, &reference);
        match &ours_build {
            None => {}
            Some(Err(_)) => verdict
                .failures
                .push("ours: not compared, the with-ours build failed (see above)".into()),
            Some(Ok(())) => {
                let ours = observe::run(
                    &binary(Variant::Ours, scenario),
                    scenario,
                    &dir(Variant::Ours),
                )?;
                check_ours(scenario, &reference, &ours, guide.as_deref(), &mut verdict);
                add_viewer_entries(&mut manifest, Variant::Ours, scenario, &ours);
            }
        }
        let ok = verdict.failures.is_empty();
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        let _ = writeln!(
            report,
            "{} {}",
            if ok { "ok     " } else { "FAILED " },
            scenario.name
        );
        for line in verdict
            .failures
            .iter()
            .map(|f| ("  fail: ", f))
            .chain(verdict.notes.iter().map(|n| ("  note: ", n)))
        {
            let _ = writeln!(report, "{}{}", line.0, line.1);
        }
    }

    fs::create_dir_all(&options.out).map_err(|e| e.to_string())?;
    let manifest_path = options.out.join("viewer-manifest.json");
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    fs::write(&manifest_path, text)
        .map_err(|e| format!("cannot write {}: {e}", manifest_path.display()))?;

    print!("{report}");
    if let Some(Err(message)) = &ours_build {
        println!("{message}");
    }
    if !options.dhat_only {
        for problem in &table_problems {
            println!("FAILED divergence table: {problem}");
            failed += 1;
        }
    } else {
        for problem in &table_problems {
            println!("warning: {problem}");
        }
    }
    let mode = if options.dhat_only {
        "dhat only"
    } else {
        "dhat vs ours"
    };
    println!(
        "differential ({mode}): {passed} ok, {failed} failing; viewer manifest: {}",
        manifest_path.display()
    );
    println!("COMPAT-COUNTS passed={passed} failed={failed}");
    Ok(failed == 0)
}
