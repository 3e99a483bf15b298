//! A scripted [`Inspector`] for unit tests: a tiny policy and a literal-matching "scanner".

use super::action::{McpAction, Operation};
use super::content::Scannable;
use super::gateway::{Found, Inspector};
use super::replies::Denial;
use crate::decision::Outcome;
use crate::detection::{Detection, DetectionType, Severity};

/// Policy: `run_shell` denied, any `path` argument under `/etc` denied, `send_email` held for
/// approval, `admin_tool` hidden. Scanner: `IGNORE PREVIOUS` is injection, `AKIA` followed by
/// 16 characters a credential, `evil.example` exfiltration.
#[derive(Default)]
pub struct FakeInspector {
    /// Every action checked, as (action type, operation).
    pub checked: Vec<(String, Operation)>,
    pub scans: usize,
}

impl Inspector for FakeInspector {
    fn check(&mut self, a: &McpAction<'_>) -> Option<Denial> {
        self.checked.push((a.action_type.clone(), a.operation));
        let path = a.parameters.get("path").and_then(|p| p.as_str());
        if a.tool == Some("run_shell") {
            Some(Denial::deny(
                "no-shell",
                "agents may not run shell commands",
            ))
        } else if path.is_some_and(|p| p.starts_with("/etc")) {
            Some(Denial::deny("no-etc", "system files are off limits"))
        } else if a.tool == Some("send_email") {
            Some(Denial {
                outcome: Outcome::RequireApproval,
                approval: Some("apr-7".into()),
                ..Denial::deny("approve-email", "email needs a human")
            })
        } else {
            None
        }
    }

    fn hidden(&mut self, a: &McpAction<'_>) -> Option<Denial> {
        (a.tool == Some("admin_tool")).then(|| Denial::deny("no-admin", "not for agents"))
    }

    fn scan(&mut self, texts: &[Scannable<'_>]) -> Vec<Found> {
        self.scans += 1;
        let mut found = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            for (needle, len, kind) in [
                ("IGNORE PREVIOUS", 15, DetectionType::Injection),
                ("AKIA", 20, DetectionType::Credentials),
                ("evil.example", 12, DetectionType::Exfiltration),
            ] {
                if let Some(start) = t.text.find(needle) {
                    found.push(Found {
                        text: i,
                        detection: detection(kind, start, (start + len).min(t.text.len())),
                    });
                }
            }
        }
        found
    }

    fn redact(&mut self, text: &str, found: &[&Detection]) -> String {
        let mut out = text.to_owned();
        for d in found.iter().rev() {
            out.replace_range(d.start..d.end, &format!("[REDACTED:{}]", d.sub_type));
        }
        out
    }
}

fn detection(kind: DetectionType, start: usize, end: usize) -> Detection {
    Detection {
        kind,
        sub_type: kind.as_str().to_ascii_uppercase(),
        severity: Severity::High,
        confidence: 0.9,
        rule: format!("fake.{}", kind.as_str()),
        path: String::new(),
        start,
        end,
        preview: "***".into(),
    }
}
