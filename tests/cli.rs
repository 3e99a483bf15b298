//! The `authensor` binary's policy, approval and audit commands, run as a user would.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn authensor(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authensor"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A file in a fresh per-test directory.
fn temp_file(test: &str, name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!("authensor-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn shipped_example_policies_pass_their_tests_and_lint_clean() {
    let files: Vec<String> = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/filter-config/policies"
    ))
    .unwrap()
    .map(|e| e.unwrap().path().to_string_lossy().into_owned())
    .collect();
    let tests: Vec<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| f.ends_with(".test.json"))
        .collect();
    assert!(tests.len() >= 3);
    let o = authensor(&[&["policy", "test"], tests.as_slice()].concat(), "");
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).trim_end().ends_with(" passed, 0 failed"),
        "{}",
        stdout(&o)
    );
    let all: Vec<&str> = files.iter().map(String::as_str).collect();
    let o = authensor(&[&["policy", "lint"], all.as_slice()].concat(), "");
    assert!(o.status.success(), "{}", stdout(&o));
    // The only warnings allowed are for policies written to fall through to the next one.
    let out = stdout(&o);
    let unexpected: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("warning:") && !l.contains("no defaultEffect"))
        .collect();
    assert!(unexpected.is_empty(), "{out}");
    assert!(out.contains(" 0 error(s)"), "{out}");
}

#[test]
fn failing_tests_are_printed_and_fail_the_run() {
    let file = temp_file(
        "fail",
        "t.test.json",
        r#"{"policy": {"id":"p","name":"n","version":"1.0.0","defaultEffect":"deny","rules":[
              {"id":"r","effect":"allow","description":"reads","condition":{"field":"action.operation","operator":"eq","value":"read"}}]},
            "tests": [
              {"name":"read","envelope":{"action":{"type":"a","operation":"read"},"principal":{"type":"agent","id":"x"}},
               "expected":{"outcome":"allow","matchedRuleId":"r","policyId":"p","reason":"reads"}},
              {"name":"write","envelope":{"action":{"type":"a","operation":"update"},"principal":{"type":"agent","id":"x"}},
               "expected":{"outcome":"allow","matchedRuleId":"r"}}]}"#,
    );
    let o = authensor(&["policy", "test", &file], "");
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains(r#"FAIL "write": outcome: expected allow, got deny; matchedRuleId: expected "r", got none"#), "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn lint_reports_errors_with_paths_and_warnings_for_templates() {
    let bad = temp_file(
        "lint",
        "bad.json",
        r#"{"id":"p","name":"n","version":"1.0.0","rules":[{"id":"r","effect":"allow","condition":{"field":"action.type","operator":"matches","value":"(?i)x"}}]}"#,
    );
    let o = authensor(&["policy", "lint", &bad], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("error: rules[0].condition.value: unsupported group syntax"),
        "{}",
        stdout(&o)
    );
    let o = authensor(
        &[
            "policy",
            "lint",
            "../shared/authensor/policy-templates/payment-agent.json",
        ],
        "",
    );
    assert!(o.status.success());
    let unreachable = stdout(&o)
        .lines()
        .filter(|l| l.contains("unreachable"))
        .count();
    assert_eq!(unreachable, 6, "{}", stdout(&o));
}

#[test]
fn eval_prints_the_decision_and_a_minted_token_approves_once_per_evaluation() {
    let key = temp_file(
        "eval",
        "key.hex",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
    );
    let config = temp_file(
        "eval",
        "config.json",
        r#"{"approval":{"key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
            "policies":[{"id":"p","name":"n","version":"1.0.0","rules":[
              {"id":"hold","effect":"require_approval","description":"deletes need a human"}]}]}"#,
    );
    let params = temp_file(
        "eval",
        "params.json",
        r#"{"path": "/tmp/x", "force": true}"#,
    );
    let envelope = r#"{"action":{"type":"fs.delete","resource":"fs","parameters":{"force":true,"path":"/tmp/x"}},
                       "principal":{"type":"agent","id":"agent-1"}}"#;
    let o = authensor(
        &["policy", "eval", "--policy", &config, "--envelope", "-"],
        envelope,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "require_approval");
    assert_eq!(v["ruleId"], "hold");
    assert!(v["approval"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("apr_"));

    let o = authensor(
        &[
            "approval",
            "mint",
            "--key-file",
            &key,
            "--principal",
            "agent-1",
            "--action",
            "fs.delete",
            "--resource",
            "fs",
            "--params",
            &params,
            "--ttl",
            "5m",
        ],
        "",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let token = stdout(&o).trim().to_owned();
    assert!(token.starts_with("v1."));
    let eval_with_token = |envelope: &str| -> serde_json::Value {
        let args = [
            "policy",
            "eval",
            "--policy",
            &config,
            "--envelope",
            "-",
            "--token",
            &token,
        ];
        serde_json::from_slice(&authensor(&args, envelope).stdout).unwrap()
    };
    let v = eval_with_token(envelope);
    assert_eq!(
        (v["outcome"].as_str(), v["approvedByToken"].as_bool()),
        (Some("allow"), Some(true))
    );
    let v = eval_with_token(&envelope.replace("/tmp/x", "/etc"));
    assert_eq!(v["outcome"], "require_approval");
    assert!(v["reason"].as_str().unwrap().contains("does not match"));
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(authensor(&["policy"], "").status.code(), Some(2));
    assert_eq!(
        authensor(&["policy", "eval", "--policy"], "").status.code(),
        Some(2)
    );
    assert_eq!(
        authensor(&["approval", "mint", "--ttl", "1h"], "")
            .status
            .code(),
        Some(2)
    );
}

/// A proxy log of `n` audit lines sealed by the core's chain, with other lines between them.
fn chained_log(n: usize) -> Vec<String> {
    let mut chain = authensor_filter::audit::chain::Chain::new("vm-1");
    let mut lines = Vec::new();
    for i in 0..n {
        let record = format!(r#"{{"audit":"authensor/v1","request_id":"r{i}","decision":"deny"}}"#);
        lines.push(format!(
            "[info] wasm log authensor: {}",
            chain.seal(&record, 16_384)
        ));
        lines.push("[info] unrelated".to_owned());
    }
    lines
}

#[test]
fn audit_verify_passes_an_intact_log_and_names_the_edited_line() {
    let log = chained_log(4).join("\n");
    let ok = authensor(&["audit", "verify", "-"], &log);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).ends_with("chains: 1, lines: 4, problems: 0 (ok)\n"));

    let tampered = log.replacen(
        r#""request_id":"r1","decision":"deny""#,
        r#""request_id":"r1","decision":"allow""#,
        1,
    );
    let file = temp_file("audit-verify", "envoy.log", &tampered);
    let bad = authensor(&["audit", "verify", "--json", &file], "");
    assert_eq!(bad.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["kind"], "edited");
    assert_eq!(v["problems"][0]["line"], 3);
    assert_eq!(v["chains"][0]["id"], "vm-1");

    let none = authensor(&["audit", "verify", "-"], "no audit lines here\n");
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(authensor(&["audit", "verify"], "").status.code(), Some(2));
    assert_eq!(
        authensor(&["audit", "check", "-"], "").status.code(),
        Some(2)
    );
}
