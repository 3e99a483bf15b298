//! `authensor policy lint|test|eval`: check policy files, run Authensor-format test files, and
//! evaluate one envelope, all through the filter's own compiler and evaluator.

use std::process::ExitCode;

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use authensor_filter::config::parse_strict;
use authensor_filter::policy::lint;
use authensor_filter::policy::state::MemoryStore;
use authensor_filter::policy::{Envelope, PolicyEngine, Request, Verdict};

use super::{exit, load, now_nanos, read_input, Options};

pub const USAGE: &str = "\
authensor policy lint FILE...
authensor policy test FILE...
authensor policy eval --policy FILE --envelope FILE|- [--token APPROVAL_TOKEN]";

pub fn run(args: &[&str]) -> ExitCode {
    match args {
        ["lint", files @ ..] if !files.is_empty() => lint_files(files),
        ["test", files @ ..] if !files.is_empty() => test_files(files),
        ["eval", rest @ ..] => match eval(rest) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("authensor policy eval: {e}\nusage: {USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("usage: {USAGE}");
            ExitCode::from(2)
        }
    }
}

fn lint_files(files: &[&str]) -> ExitCode {
    let (mut errors, mut warnings) = (0, 0);
    for file in files {
        match load::engine(file) {
            Ok(loaded) => {
                for w in lint::warnings(&loaded.engine, loaded.is_config) {
                    warnings += 1;
                    println!("{file}: warning: {}: {}", w.path, w.message);
                }
            }
            Err(e) => {
                errors += 1;
                println!("{file}: error: {e}");
            }
        }
    }
    println!(
        "{} file(s): {errors} error(s), {warnings} warning(s)",
        files.len()
    );
    exit(errors == 0)
}

/// Authensor's test-file format.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// Compiled by `load::engine`; only its presence is checked here.
    #[serde(rename = "policy")]
    _policy: Value,
    tests: Vec<TestCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCase {
    name: String,
    envelope: Envelope,
    expected: Expected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expected {
    outcome: String,
    /// Absent: not checked. `null`: no rule may have matched.
    #[serde(default, deserialize_with = "present")]
    matched_rule_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    policy_id: Option<Option<String>>,
    #[serde(default)]
    reason: Option<String>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn test_files(files: &[&str]) -> ExitCode {
    let (mut passed, mut failed, mut broken) = (0, 0, 0);
    for file in files {
        match run_test_file(file) {
            Ok((p, failures)) => {
                passed += p;
                failed += failures.len();
                for f in failures {
                    println!("{file}: FAIL {f}");
                }
            }
            Err(e) => {
                broken += 1;
                println!("{file}: error: {e}");
            }
        }
    }
    if broken > 0 {
        println!("{broken} file(s) could not be run");
    }
    println!("{passed} passed, {failed} failed");
    exit(failed == 0 && broken == 0)
}

/// Run one file; state (rate limits, sessions) carries from one test to the next.
fn run_test_file(file: &str) -> Result<(usize, Vec<String>), String> {
    let bytes = read_input(file)?;
    let doc: TestFile = parse_strict(&bytes).map_err(|e| e.to_string())?;
    let engine = load::engine(file)?.engine;
    let store = MemoryStore::default();
    let request = Request {
        now_nanos: now_nanos(),
        approval_token: None,
    };
    let mut passed = 0;
    let mut failures = Vec::new();
    for t in &doc.tests {
        let v = engine.evaluate(&store, &t.envelope, &request);
        match mismatch(&t.expected, &v) {
            None => passed += 1,
            Some(why) => failures.push(format!("{:?}: {why}", t.name)),
        }
    }
    Ok((passed, failures))
}

fn mismatch(want: &Expected, got: &Verdict<'_>) -> Option<String> {
    let show = |s: Option<&str>| s.map_or("none".to_owned(), |s| format!("{s:?}"));
    let mut problems = Vec::new();
    if want.outcome != got.outcome.as_str() {
        problems.push(format!(
            "outcome: expected {}, got {}",
            want.outcome,
            got.outcome.as_str()
        ));
    }
    if let Some(rule) = &want.matched_rule_id {
        if rule.as_deref() != got.rule_id {
            problems.push(format!(
                "matchedRuleId: expected {}, got {}",
                show(rule.as_deref()),
                show(got.rule_id)
            ));
        }
    }
    if let Some(policy) = &want.policy_id {
        if policy.as_deref() != got.policy_id {
            problems.push(format!(
                "policyId: expected {}, got {}",
                show(policy.as_deref()),
                show(got.policy_id)
            ));
        }
    }
    if let Some(reason) = &want.reason {
        if *reason != got.reason {
            problems.push(format!("reason: expected {reason:?}, got {:?}", got.reason));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

fn eval(args: &[&str]) -> Result<ExitCode, String> {
    let opts = Options::parse(args, &["--policy", "--envelope", "--token"])?;
    let engine: PolicyEngine = load::engine(opts.require("--policy")?)?.engine;
    let envelope: Envelope = parse_strict(&read_input(opts.require("--envelope")?)?)
        .map_err(|e| format!("envelope: {e}"))?;
    let request = Request {
        now_nanos: now_nanos(),
        approval_token: opts.get("--token"),
    };
    let v = engine.evaluate(&MemoryStore::default(), &envelope, &request);
    println!(
        "{}",
        serde_json::to_string_pretty(&verdict_json(&v)).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

fn verdict_json(v: &Verdict<'_>) -> Value {
    let mut out = json!({
        "outcome": v.outcome.as_str(),
        "policyId": v.policy_id,
        "policyVersion": v.policy_version,
        "ruleId": v.rule_id,
        "reason": v.reason,
    });
    if let Some(obj) = out.as_object_mut() {
        if let Some(r) = v.retry_after {
            obj.insert("retryAfter".into(), json!(r));
        }
        if let Some(a) = &v.approval {
            obj.insert(
                "approval".into(),
                serde_json::to_value(a).unwrap_or_default(),
            );
        }
        if v.approved_by_token {
            obj.insert("approvedByToken".into(), json!(true));
        }
    }
    out
}
