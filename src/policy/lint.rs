//! Static checks on compiled policies for `authensor policy lint`: what compiles but cannot do
//! what its author meant. Rules that can never match (after an unconditional rule, or naming
//! action types the policy's scope excludes, such as `x.a.b` under scope `x.*`), policies that
//! are never consulted, allow rules whose `rateLimit` makes them catch-alls, and so on.

use super::compile::{at, Policy, PolicyEngine, Rule, Scope};
use super::condition::{Cond, Leaf, Lit, Op};
use super::jsregex::{top_level_atoms, Atom};
use super::model::{DefaultEffect, Effect};

/// One finding, addressed by JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub message: String,
}

/// Warnings about a compiled engine, in evaluation order. `with_settings`: the engine comes
/// from a filter configuration, so its settings (approval key) can be checked too.
pub fn warnings(engine: &PolicyEngine, with_settings: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &engine.disabled {
        push(
            &mut out,
            &p.path,
            "policy is disabled (\"enabled\": false) and never evaluated".into(),
        );
    }
    let mut shadowed_by: Option<&Policy> = None;
    for p in &engine.policies {
        if let Some(earlier) = shadowed_by {
            push(
                &mut out,
                &p.path,
                format!(
                    "policy {:?} is never consulted: {:?} comes first, has no scope restriction and always decides",
                    p.id, earlier.id
                ),
            );
            continue;
        }
        policy_warnings(engine, with_settings, p, &mut out);
        if is_unrestricted(&p.scope) && p.default_effect.is_some() {
            shadowed_by = Some(p);
        }
    }
    out
}

fn push(out: &mut Vec<Finding>, path: &str, message: String) {
    out.push(Finding {
        path: if path.is_empty() {
            "$".into()
        } else {
            path.into()
        },
        message,
    });
}

fn is_unrestricted(s: &Scope) -> bool {
    s.action_types.is_empty() && s.principal_types.is_empty() && s.environments.is_empty()
}

fn policy_warnings(engine: &PolicyEngine, with_settings: bool, p: &Policy, out: &mut Vec<Finding>) {
    if p.default_effect.is_none() {
        push(
            out,
            &p.path,
            "no defaultEffect: envelopes that match no rule fall through to the next policy (and are denied if none decides)".into(),
        );
    }
    let mut catch_all: Option<&Rule> = None;
    for (i, rule) in p.rules.iter().enumerate() {
        let path = at(&p.path, &format!("rules[{i}]"));
        if let Some(first) = catch_all {
            push(
                out,
                &path,
                format!(
                    "unreachable: rule {:?} before it has no condition and matches everything",
                    first.id
                ),
            );
            continue;
        }
        match &rule.condition {
            None => catch_all = Some(rule),
            Some(c) if !possible(c, &p.scope) => push(
                out,
                &at(&path, "condition"),
                format!(
                    "unreachable: no action type within the policy scope {} satisfies this condition",
                    scope_text(&p.scope)
                ),
            ),
            Some(c) => partial_lists(c, &p.scope, &at(&path, "condition"), out),
        }
        if rule.effect == Effect::Allow
            && rule.rate_limit.is_some()
            && is_broad(rule.condition.as_ref())
        {
            push(
                out,
                &path,
                "catch-all: this allow rule matches a whole family of action types; whatever is not denied above passes, the rateLimit only caps how often".into(),
            );
        }
        if with_settings && rule.effect == Effect::RequireApproval && engine.approval_key.is_none()
        {
            push(
                out,
                &path,
                "require_approval without approval.key configured: no token can approve this rule"
                    .into(),
            );
        }
    }
    if catch_all.is_some() && p.default_effect == Some(DefaultEffect::Allow) {
        push(
            out,
            &at(&p.path, "defaultEffect"),
            "never used: a rule without condition matches everything".into(),
        );
    }
}

/// No condition, or a single prefix/pattern/existence test on `action.type`.
fn is_broad(c: Option<&Cond>) -> bool {
    match c {
        None => true,
        Some(Cond::Leaf(l)) => {
            l.field.is_action_type()
                && matches!(
                    l.op,
                    Op::StartsWith(_)
                        | Op::Contains(_)
                        | Op::EndsWith(_)
                        | Op::Matches(_)
                        | Op::Exists(true)
                )
        }
        Some(_) => false,
    }
}

fn scope_text(s: &Scope) -> String {
    let names: Vec<String> = s.action_types.iter().map(ToString::to_string).collect();
    format!("[{}]", names.join(", "))
}

/// False only when no envelope can satisfy the condition under this scope.
fn possible(c: &Cond, scope: &Scope) -> bool {
    match c {
        Cond::All(cs) => cs.iter().all(|c| possible(c, scope)),
        Cond::Any(cs) => cs.iter().any(|c| possible(c, scope)),
        Cond::Not(_) => true,
        Cond::Leaf(l) => leaf_possible(l, scope),
    }
}

fn in_scope(scope: &Scope, action: &str) -> bool {
    scope.action_types.is_empty() || scope.action_types.iter().any(|g| g.matches(action))
}

fn dots(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'.').count()
}

/// Most dots an in-scope action type can have, `None` when unbounded.
fn scope_max_dots(scope: &Scope) -> Option<usize> {
    if scope.action_types.is_empty() {
        return None;
    }
    scope
        .action_types
        .iter()
        .map(|g| g.max_dots())
        .try_fold(0, |m, d| Some(m.max(d?)))
}

fn leaf_possible(l: &Leaf, scope: &Scope) -> bool {
    if !l.field.is_action_type() {
        return true;
    }
    let too_many_dots = |n: usize| scope_max_dots(scope).is_some_and(|max| n > max);
    match &l.op {
        Op::Eq(Lit::Str(s)) => in_scope(scope, s),
        Op::Eq(_) => false,
        Op::In(set) => set.strs.iter().any(|s| in_scope(scope, s)),
        Op::StartsWith(s) | Op::Contains(s) | Op::EndsWith(s) => !too_many_dots(dots(s)),
        Op::Matches(r) => !too_many_dots(regex_min_dots(r.as_str())),
        _ => true,
    }
}

/// `in` lists on `action.type` naming some types the scope excludes.
fn partial_lists(c: &Cond, scope: &Scope, path: &str, out: &mut Vec<Finding>) {
    let mut leaves = Vec::new();
    c.leaves(&mut leaves);
    for l in leaves {
        if let (true, Op::In(set)) = (l.field.is_action_type(), &l.op) {
            let outside: Vec<&str> = set
                .strs
                .iter()
                .map(|s| &**s)
                .filter(|s| !in_scope(scope, s))
                .collect();
            if !outside.is_empty() {
                push(
                    out,
                    path,
                    format!(
                        "action types outside the policy scope can never match: {}",
                        outside.join(", ")
                    ),
                );
            }
        }
    }
}

/// Dots every match of a pattern must contain: mandatory top-level literal dots (`\.`);
/// 0 when the pattern has a top-level `|`.
pub fn regex_min_dots(pattern: &str) -> usize {
    top_level_atoms(pattern).map_or(0, |atoms| {
        atoms
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    Atom::Literal {
                        c: '.',
                        mandatory: true,
                        ..
                    }
                )
            })
            .count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_strict;
    use crate::policy::model::PolicyModel;
    use crate::policy::settings::{ApprovalSettings, StateSettings};

    fn lint(json: &str) -> Vec<Finding> {
        let models: Vec<PolicyModel> = parse_strict(json.as_bytes()).unwrap();
        let e = PolicyEngine::compile(
            &models,
            "$",
            &|i| format!("[{i}]"),
            &ApprovalSettings::default(),
            &StateSettings::default(),
        )
        .unwrap();
        warnings(&e, false)
    }

    fn has(findings: &[Finding], path: &str, text: &str) -> bool {
        findings
            .iter()
            .any(|f| f.path == path && f.message.contains(text))
    }

    #[test]
    fn scope_excludes_deeper_action_types() {
        let f = lint(
            r#"[{"id":"p","name":"n","version":"1.0.0","scope":{"actionTypes":["x.*"]},"defaultEffect":"deny","rules":[
                {"id":"a","effect":"allow","condition":{"field":"action.type","operator":"eq","value":"x.a.b"}},
                {"id":"b","effect":"allow","condition":{"all":[{"field":"action.type","operator":"in","value":["x.a.b","y.c"]}]}},
                {"id":"c","effect":"deny","condition":{"field":"action.type","operator":"matches","value":"x\\.a\\..*"}},
                {"id":"d","effect":"deny","condition":{"field":"action.type","operator":"in","value":["x.a","x.a.b"]}},
                {"id":"e","effect":"deny","condition":{"field":"action.type","operator":"matches","value":"x\\.(a|b)"}},
                {"id":"f","effect":"deny","condition":{"field":"action.type","operator":"startsWith","value":"x."}}]}]"#,
        );
        assert!(has(&f, "[0].rules[0].condition", "unreachable"));
        assert!(has(&f, "[0].rules[1].condition", "unreachable"));
        assert!(has(&f, "[0].rules[2].condition", "unreachable"));
        assert!(has(
            &f,
            "[0].rules[3].condition",
            "outside the policy scope can never match: x.a.b"
        ));
        assert!(
            !f.iter()
                .any(|x| x.path.starts_with("[0].rules[4]") || x.path.starts_with("[0].rules[5]")),
            "{f:?}"
        );
    }

    #[test]
    fn catch_alls_shadow_what_follows() {
        let f = lint(
            r#"[{"id":"p","name":"n","version":"1.0.0","defaultEffect":"deny","rules":[
                   {"id":"a","effect":"allow","rateLimit":{"requests":5,"window":"1m"}},
                   {"id":"b","effect":"deny"}]},
                {"id":"q","name":"n","version":"1.0.0","rules":[]},
                {"id":"off","name":"n","version":"1.0.0","enabled":false,"rules":[]}]"#,
        );
        assert!(has(&f, "[0].rules[1]", "unreachable: rule \"a\""));
        assert!(has(&f, "[0].rules[0]", "catch-all"));
        assert!(has(&f, "[1]", "never consulted"));
        assert!(has(&f, "[2]", "disabled"));
    }

    #[test]
    fn minimum_dots_of_patterns() {
        assert_eq!(regex_min_dots(r"stripe\.refunds\..*"), 2);
        assert_eq!(regex_min_dots(r"(patient|ehr|medical)\..+\.delete"), 2);
        assert_eq!(regex_min_dots(r"a\.?b\.c"), 1);
        assert_eq!(regex_min_dots(r"a\.b|c"), 0);
        assert_eq!(regex_min_dots(r"[\.]x\."), 1);
    }
}
