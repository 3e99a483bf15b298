//! Evaluation: Authensor's selection semantics (descending priority, first policy whose scope
//! matches and which decides, first matching rule, `defaultEffect` only when set, otherwise fall
//! through, and "No matching policy found (fail-closed)"), plus the stateful parts Authensor's
//! HTTP path leaves out: session rules, rule constraints, cost budgets, rate limits and
//! approval tokens, all against shared data with compare-and-swap.

use std::borrow::Cow;

use serde_json::Value;

use super::approval::{self, ApprovalRequest, Binding, Verified};
use super::compile::{Constraints, Policy, PolicyEngine, Rule, Scope};
use super::envelope::Envelope;
use super::model::{DefaultEffect, Effect, RateLimitScope, SessionEffect};
use super::ratelimit::{counter_id, Admit, LastCounter, Window};
use super::session::{SessionRules, Violation};
use super::state::{key_id, KeyId, SharedStore, StateError, Step};
use crate::decision::Outcome;

/// Reason of the fail-closed decision when no policy decided.
pub const NO_POLICY: &str = "No matching policy found (fail-closed)";

/// The per-request inputs besides the envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    pub now_nanos: u64,
    /// The pre-authorisation token presented with the request, if any.
    pub approval_token: Option<&'a str>,
}

/// What the policies decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict<'p> {
    pub outcome: Outcome,
    pub policy_id: Option<&'p str>,
    pub policy_version: Option<&'p str>,
    pub rule_id: Option<&'p str>,
    pub reason: Cow<'p, str>,
    /// For `rate_limited`: seconds until the window resets.
    pub retry_after: Option<u64>,
    /// For `require_approval`: what to approve.
    pub approval: Option<ApprovalRequest>,
    /// Allowed because a valid approval token was presented (and is now used up).
    pub approved_by_token: bool,
}

impl<'p> Verdict<'p> {
    fn new(
        outcome: Outcome,
        policy: Option<&'p Policy>,
        rule: Option<&'p Rule>,
        reason: impl Into<Cow<'p, str>>,
    ) -> Self {
        Verdict {
            outcome,
            policy_id: policy.map(|p| &*p.id),
            policy_version: policy.map(|p| &*p.version),
            rule_id: rule.map(|r| &*r.id),
            reason: reason.into(),
            retry_after: None,
            approval: None,
            approved_by_token: false,
        }
    }
}

impl Scope {
    pub fn matches(&self, e: &Envelope) -> bool {
        (self.action_types.is_empty() || self.action_types.iter().any(|g| g.matches(&e.action.kind)))
            && (self.principal_types.is_empty() || self.principal_types.contains(&e.principal.kind))
            // Fixed: a policy scoped to environments does not apply to an envelope without one.
            && (self.environments.is_empty()
                || e.context.environment.is_some_and(|env| self.environments.contains(&env)))
    }
}

impl PolicyEngine {
    /// Decide on one envelope with the enforced policies (shadow ones are left out, see
    /// [`super::shadow`]). Never panics; state problems fail closed with a reason.
    pub fn evaluate<'p, S: SharedStore + ?Sized>(
        &'p self,
        store: &S,
        e: &Envelope,
        req: &Request<'_>,
    ) -> Verdict<'p> {
        let mut checked: Vec<&'p SessionRules> = Vec::new();
        for p in self.policies.iter().filter(|p| !p.shadow) {
            if let Some(v) = self.try_policy(store, e, req, p, &mut checked) {
                return v;
            }
        }
        Verdict::new(Outcome::Deny, None, None, NO_POLICY)
    }

    /// One policy's verdict on the envelope: `None` when its scope does not match or it falls
    /// through (no rule matched and no `defaultEffect`). Session rules it checked are noted in
    /// `checked`, so an allowed action is recorded against them.
    pub(super) fn try_policy<'p, S: SharedStore + ?Sized>(
        &'p self,
        store: &S,
        e: &Envelope,
        req: &Request<'_>,
        p: &'p Policy,
        checked: &mut Vec<&'p SessionRules>,
    ) -> Option<Verdict<'p>> {
        if !p.scope.matches(e) {
            return None;
        }
        let now = req.now_nanos / 1_000_000_000;
        let session = e.context.session_id.as_deref().filter(|s| !s.is_empty());
        if let (Some(rules), Some(sid)) = (&p.session, session) {
            match self.sessions.load(store, sid, now) {
                Ok(history) => {
                    if let Some(v) = rules.check(&history, &e.action.kind) {
                        return Some(self.session_violation(e, p, v));
                    }
                }
                Err(err) => {
                    return Some(Verdict::new(Outcome::Deny, Some(p), None, err.describe()))
                }
            }
            checked.push(rules);
        }
        if let Some(rule) = p
            .rules
            .iter()
            .find(|r| r.condition.as_ref().is_none_or(|c| c.eval(e)))
        {
            return Some(self.apply(store, e, req, now, p, rule, checked));
        }
        match p.default_effect? {
            DefaultEffect::Deny => Some(Verdict::new(
                Outcome::Deny,
                Some(p),
                None,
                "Default policy effect: deny",
            )),
            DefaultEffect::Allow => {
                let v = Verdict::new(
                    Outcome::Allow,
                    Some(p),
                    None,
                    "Default policy effect: allow",
                );
                Some(self.record(store, e, now, p, checked, v))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply<'p, S: SharedStore + ?Sized>(
        &'p self,
        store: &S,
        e: &Envelope,
        req: &Request<'_>,
        now: u64,
        p: &'p Policy,
        rule: &'p Rule,
        checked: &[&'p SessionRules],
    ) -> Verdict<'p> {
        let deny = |reason: String| Verdict::new(Outcome::Deny, Some(p), Some(rule), reason);
        if rule.effect == Effect::Deny {
            return Verdict::new(Outcome::Deny, Some(p), Some(rule), &*rule.reason);
        }
        if let Some(why) = rule.constraints.as_ref().and_then(|c| c.violation(e)) {
            return deny(why);
        }
        let cost = e.constraint_number("maxAmount").unwrap_or(0.0);
        if let Some(max) = rule.budget.as_ref().and_then(|b| b.max_action_cost) {
            if cost > max {
                return deny(format!(
                    "Action cost {cost} exceeds per-action limit of {max}"
                ));
            }
        }
        let token = if rule.effect == Effect::RequireApproval {
            match self.check_token(e, req, now) {
                Ok(v) => Some(v),
                Err(problem) => return self.approval_required(e, p, Some(rule), problem),
            }
        } else {
            None
        };
        if let Some(rl) = &rule.rate_limit {
            let id = counter_for("rate", p, rule, rl.scope, &rl.counter, e);
            let window = self.window(id, rl.window_secs, rl.requests as f64);
            let retry_after = match window.admit(store, now, 1.0) {
                Ok(Admit::Yes(_)) => None,
                Ok(Admit::No { retry_after }) => Some(retry_after),
                Err(_) => Some(1),
            };
            if let Some(retry_after) = retry_after {
                let reason = format!(
                    "Rate limit exceeded: {} requests per {}",
                    rl.requests, rl.window
                );
                return Verdict {
                    retry_after: Some(retry_after),
                    ..Verdict::new(Outcome::RateLimited, Some(p), Some(rule), reason)
                };
            }
        }
        if let Some(b) = rule.budget.as_ref().filter(|_| cost > 0.0) {
            let id = counter_for("budget", p, rule, b.scope, &b.counter, e);
            let window = self.window(id, b.period.seconds(), b.max_budget);
            match window.admit(store, now, cost) {
                Ok(Admit::Yes(_)) => {}
                Ok(Admit::No { .. }) => {
                    return deny(format!(
                        "Budget exceeded: a cost of {cost} does not fit the {} budget of {}",
                        b.period.as_str(),
                        b.max_budget
                    ))
                }
                Err(err) => return deny(err.describe().to_owned()),
            }
        }
        if let Some(v) = token {
            if let Err(problem) = self.consume_token(store, &v, now) {
                return self.approval_required(e, p, Some(rule), Some(problem));
            }
        }
        let verdict = Verdict {
            approved_by_token: token.is_some(),
            ..Verdict::new(Outcome::Allow, Some(p), Some(rule), &*rule.reason)
        };
        self.record(store, e, now, p, checked, verdict)
    }

    fn window(&self, id: KeyId, window_secs: u64, limit: f64) -> Window<'_> {
        Window {
            table: &self.counters,
            id,
            window_secs,
            limit,
        }
    }

    /// Remember an allowed action in its session (re-checking session limits atomically).
    fn record<'p, S: SharedStore + ?Sized>(
        &'p self,
        store: &S,
        e: &Envelope,
        now: u64,
        p: &'p Policy,
        checked: &[&'p SessionRules],
        allowed: Verdict<'p>,
    ) -> Verdict<'p> {
        let Some(sid) = e
            .context
            .session_id
            .as_deref()
            .filter(|s| !s.is_empty() && self.track_sessions())
        else {
            return allowed;
        };
        match self
            .sessions
            .record(store, sid, now, &e.action.kind, checked)
        {
            Ok(None) => allowed,
            Ok(Some(v)) => self.session_violation(e, p, v),
            Err(err) => Verdict::new(Outcome::Deny, Some(p), None, err.describe()),
        }
    }

    /// Whether any policy has session rules (then every allowed action is recorded).
    fn track_sessions(&self) -> bool {
        self.policies.iter().any(|p| p.session.is_some())
    }

    fn session_violation<'p>(&'p self, e: &Envelope, p: &'p Policy, v: Violation) -> Verdict<'p> {
        match v.effect {
            SessionEffect::Deny => Verdict::new(Outcome::Deny, Some(p), None, v.reason),
            SessionEffect::RequireApproval => Verdict {
                approval: Some(request(e, None)),
                ..Verdict::new(Outcome::RequireApproval, Some(p), None, v.reason)
            },
        }
    }

    fn approval_required<'p>(
        &'p self,
        e: &Envelope,
        p: &'p Policy,
        rule: Option<&'p Rule>,
        problem: Option<&'static str>,
    ) -> Verdict<'p> {
        let base = rule.map_or("Approval required", |r| &*r.reason);
        let reason: Cow<'p, str> = match problem {
            Some(why) => Cow::Owned(format!("{base} ({why})")),
            None => Cow::Borrowed(base),
        };
        Verdict {
            approval: Some(request(e, rule)),
            ..Verdict::new(Outcome::RequireApproval, Some(p), rule, reason)
        }
    }

    /// A valid token, or why there is none (`None` when no token was presented).
    fn check_token(
        &self,
        e: &Envelope,
        req: &Request<'_>,
        now: u64,
    ) -> Result<Verified, Option<&'static str>> {
        let token = req.approval_token.filter(|t| !t.is_empty()).ok_or(None)?;
        let key = self.approval_key.as_ref().ok_or(Some(
            "no approval key is configured, so tokens are not accepted",
        ))?;
        approval::verify(key, token, &Binding::of(e), now).map_err(|err| Some(err.describe()))
    }

    /// Mark a verified token as used, exactly once across all workers.
    fn consume_token<S: SharedStore + ?Sized>(
        &self,
        store: &S,
        v: &Verified,
        now: u64,
    ) -> Result<(), &'static str> {
        let fresh = self
            .used_tokens
            .update(store, &key_id(&[b"token", &v.id]), now, |used| match used {
                Some(_) => Step::Keep(false),
                None => Step::Put {
                    payload: Vec::new(),
                    expires_at: v.expires_at,
                    result: true,
                },
            });
        match fresh {
            Ok(true) => Ok(()),
            Ok(false) => Err("the approval token has already been used"),
            Err(StateError::Full) => {
                Err("too many unexpired approval tokens are in use; failing closed")
            }
            Err(StateError::Contended) => Err(StateError::Contended.describe()),
        }
    }
}

fn request(e: &Envelope, rule: Option<&Rule>) -> ApprovalRequest {
    let binding = Binding::of(e);
    let info = rule.and_then(|r| r.approval.as_ref());
    ApprovalRequest {
        reference: binding.reference(),
        principal: e.principal.id.clone(),
        action: e.action.kind.clone(),
        resource: e.action.resource.clone(),
        params_sha256: approval::hex(&binding.params_sha256),
        required_approvals: info.map_or(1, |a| a.required),
        expires_in: info
            .and_then(|a| a.expires_in.as_deref())
            .map(str::to_owned),
    }
}

/// The counter of `kind` (rate or budget) for this rule and the envelope's scope key; `last`
/// remembers the rule's last one.
fn counter_for(
    kind: &str,
    p: &Policy,
    rule: &Rule,
    scope: RateLimitScope,
    last: &LastCounter,
    e: &Envelope,
) -> KeyId {
    let value = match scope {
        RateLimitScope::Principal => e.principal.id.as_str(),
        RateLimitScope::Action => e.action.kind.as_str(),
        RateLimitScope::Global => "",
    };
    last.id(value, || {
        counter_id(kind, &p.id, &rule.id, scope.as_str(), value)
    })
}

impl Constraints {
    /// Why the envelope breaks this rule's constraints, if it does.
    pub fn violation(&self, e: &Envelope) -> Option<String> {
        for field in self.require.iter() {
            if e.constraints.get(&**field).is_none_or(Value::is_null) {
                return Some(format!(
                    "Envelope is missing required constraint field: {field}"
                ));
            }
        }
        if let (Some(max), Some(declared)) = (self.max_amount, e.constraint_number("maxAmount")) {
            if declared > max {
                return Some(format!(
                    "Envelope maxAmount ({declared}) exceeds policy limit ({max})"
                ));
            }
        }
        if let (Some(max), Some(declared)) = (self.timeout, e.constraint_number("timeout")) {
            if declared > max as f64 {
                return Some(format!(
                    "Envelope timeout ({declared}ms) exceeds policy limit ({max}ms)"
                ));
            }
        }
        let allowed = self.allowed_domains.as_deref()?;
        let ok = |host: &str| allowed.iter().any(|d| domain_matches(d, host));
        match destination_host(&e.action.resource) {
            None => return Some("The action's resource names no destination domain; allowedDomains cannot be checked".into()),
            Some(host) if !ok(&host) => return Some(format!("Destination {host} is not in the rule's allowedDomains")),
            Some(_) => {}
        }
        let declared = e
            .constraints
            .get("allowedDomains")
            .and_then(Value::as_array)?;
        let outside: Vec<&str> = declared
            .iter()
            .filter_map(Value::as_str)
            .filter(|d| !ok(&d.to_ascii_lowercase()))
            .collect();
        (!outside.is_empty()).then(|| {
            format!(
                "Envelope declares domains not in policy whitelist: {}",
                outside.join(", ")
            )
        })
    }
}

/// `example.com` matches itself; `*.example.com` matches its subdomains.
fn domain_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .strip_suffix(parent)
            .and_then(|sub| sub.strip_suffix('.'))
            .is_some_and(|sub| !sub.is_empty()),
        None => pattern == host,
    }
}

/// The host a resource points at: `https://user@Api.Example.com:8443/x` gives `api.example.com`.
pub fn destination_host(resource: &str) -> Option<String> {
    let rest = resource.split_once("://").map_or(resource, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        match authority.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => authority,
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_strict;
    use crate::fake_host::FakeHost;
    use crate::policy::approval::{mint, ApprovalKey};
    use crate::policy::model::PolicyModel;
    use crate::policy::settings::{ApprovalSettings, StateSettings};

    const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn engine(policies: &str) -> PolicyEngine {
        let models: Vec<PolicyModel> = parse_strict(policies.as_bytes()).unwrap();
        let approval = ApprovalSettings {
            key: Some(KEY.into()),
            ..ApprovalSettings::default()
        };
        PolicyEngine::compile(
            &models,
            "policies",
            &|i| format!("policies[{i}]"),
            &approval,
            &StateSettings::default(),
        )
        .unwrap()
    }

    fn envelope(json: &str) -> Envelope {
        serde_json::from_str(json).unwrap()
    }

    fn action(kind: &str, extra: &str) -> Envelope {
        envelope(&format!(
            r#"{{"action":{{"type":"{kind}","resource":"r","operation":"read"}},
                "principal":{{"type":"agent","id":"a1"}}{extra}}}"#
        ))
    }

    fn eval<'p>(e: &'p PolicyEngine, env: &Envelope) -> Verdict<'p> {
        e.evaluate(&FakeHost::default(), env, &Request::default())
    }

    fn policy(id: &str, rest: &str) -> String {
        format!(r#"{{"id":"{id}","name":"n","version":"1.0.0",{rest}}}"#)
    }

    #[test]
    fn first_matching_rule_of_the_first_matching_policy_decides() {
        let e = engine(&format!(
            "[{},{}]",
            policy(
                "low",
                r#""rules":[{"id":"all","effect":"allow","description":"low wins?"}]"#
            ),
            policy(
                "high",
                r#""priority":10,"scope":{"actionTypes":["x.*"]},"defaultEffect":"deny","rules":[
                    {"id":"r1","effect":"deny","description":"first","condition":{"field":"action.type","operator":"eq","value":"x.a"}},
                    {"id":"r2","effect":"allow","description":"second","condition":{"field":"action.type","operator":"startsWith","value":"x."}}]"#
            )
        ));
        let v = eval(&e, &action("x.a", ""));
        assert_eq!(
            (v.outcome, v.policy_id, v.rule_id, &*v.reason),
            (Outcome::Deny, Some("high"), Some("r1"), "first")
        );
        let v = eval(&e, &action("x.b", ""));
        assert_eq!((v.outcome, v.rule_id), (Outcome::Allow, Some("r2")));
        // Out of the high policy's scope: the low one decides.
        let v = eval(&e, &action("y.b", ""));
        assert_eq!(
            (v.outcome, v.policy_id, &*v.reason),
            (Outcome::Allow, Some("low"), "low wins?")
        );
    }

    #[test]
    fn no_default_effect_falls_through_and_nothing_decided_fails_closed() {
        let rules = r#""rules":[{"id":"r","effect":"allow","condition":{"field":"action.type","operator":"eq","value":"a"}}]"#;
        let e = engine(&format!(
            "[{},{}]",
            policy("first", rules),
            policy("second", r#""defaultEffect":"allow","rules":[]"#)
        ));
        assert_eq!(eval(&e, &action("b", "")).policy_id, Some("second"));
        assert_eq!(
            eval(&e, &action("b", "")).reason,
            "Default policy effect: allow"
        );
        let e = engine(&format!("[{}]", policy("only", rules)));
        let v = eval(&e, &action("b", ""));
        assert_eq!(
            (v.outcome, v.policy_id, v.rule_id, &*v.reason),
            (Outcome::Deny, None, None, NO_POLICY)
        );
        let empty = engine("[]");
        let v = eval(&empty, &action("b", ""));
        assert_eq!((v.outcome, &*v.reason), (Outcome::Deny, NO_POLICY));
        let e = engine(&format!(
            "[{}]",
            policy("d", r#""defaultEffect":"deny","rules":[]"#)
        ));
        assert_eq!(
            eval(&e, &action("b", "")).reason,
            "Default policy effect: deny"
        );
    }

    #[test]
    fn environment_scope_needs_a_matching_environment() {
        let e = engine(&format!(
            "[{},{}]",
            policy(
                "prod",
                r#""scope":{"environments":["production"]},"defaultEffect":"deny","rules":[]"#
            ),
            policy("rest", r#""defaultEffect":"allow","rules":[]"#)
        ));
        let prod = action("a", r#","context":{"environment":"production"}"#);
        assert_eq!(eval(&e, &prod).policy_id, Some("prod"));
        // Fixed: Authensor would apply the production policy to an envelope without environment.
        assert_eq!(eval(&e, &action("a", "")).policy_id, Some("rest"));
        let dev = action("a", r#","context":{"environment":"development"}"#);
        assert_eq!(eval(&e, &dev).policy_id, Some("rest"));
    }

    #[test]
    fn principal_type_scope_and_literal_globs() {
        let e = engine(&format!(
            "[{},{}]",
            policy(
                "svc",
                r#""scope":{"principalTypes":["service"],"actionTypes":["a+b.*"]},"defaultEffect":"deny","rules":[]"#
            ),
            policy("rest", r#""defaultEffect":"allow","rules":[]"#)
        ));
        let svc = |kind: &str| {
            envelope(&format!(
                r#"{{"action":{{"type":"{kind}"}},"principal":{{"type":"service","id":"s"}}}}"#
            ))
        };
        assert_eq!(eval(&e, &svc("a+b.x")).policy_id, Some("svc"));
        assert_eq!(
            eval(&e, &svc("aab.x")).policy_id,
            Some("rest"),
            "+ is literal"
        );
        assert_eq!(
            eval(&e, &action("a+b.x", "")).policy_id,
            Some("rest"),
            "agent is out of scope"
        );
    }

    #[test]
    fn aegis_results_drive_rules() {
        let e = engine(&format!(
            "[{}]",
            policy(
                "aegis",
                r#""defaultEffect":"allow","rules":[
                    {"id":"block-injection","effect":"deny","description":"prompt injection",
                     "condition":{"field":"aegis.injection.score","operator":"gte","value":3}}]"#
            )
        ));
        let with = |sev: &str| {
            action(
                "llm.openai.chat",
                &format!(
                    r#","aegis":{{"detections":[{{"type":"injection","severity":"{sev}"}}]}}"#
                ),
            )
        };
        assert_eq!(eval(&e, &with("high")).rule_id, Some("block-injection"));
        assert_eq!(eval(&e, &with("medium")).outcome, Outcome::Allow);
        assert_eq!(
            eval(&e, &action("llm.openai.chat", "")).outcome,
            Outcome::Allow
        );
    }

    #[test]
    fn rate_limits_trip_at_n_plus_one_per_scope_key() {
        let e = engine(&format!(
            "[{}]",
            policy(
                "rl",
                r#""rules":[{"id":"r","effect":"allow","rateLimit":{"requests":2,"window":"1h"}}]"#
            )
        ));
        let host = FakeHost::default();
        let req = Request {
            now_nanos: 7_200_000_000_000,
            approval_token: None,
        };
        let a1 = action("x", "");
        let a2 = envelope(r#"{"action":{"type":"x"},"principal":{"type":"agent","id":"a2"}}"#);
        let outcomes: Vec<Outcome> = (0..3)
            .map(|_| e.evaluate(&host, &a1, &req).outcome)
            .collect();
        assert_eq!(
            outcomes,
            vec![Outcome::Allow, Outcome::Allow, Outcome::RateLimited]
        );
        let v = e.evaluate(&host, &a1, &req);
        assert_eq!(
            (v.retry_after, &*v.reason),
            (Some(3_600), "Rate limit exceeded: 2 requests per 1h")
        );
        assert_eq!(
            e.evaluate(&host, &a2, &req).outcome,
            Outcome::Allow,
            "another principal"
        );
    }

    #[test]
    fn constraints_and_budgets_deny_what_exceeds_them() {
        let e = engine(&format!(
            "[{}]",
            policy(
                "pay",
                r#""rules":[{"id":"r","effect":"allow","description":"ok",
                    "constraints":{"maxAmount":100,"allowedDomains":["api.stripe.com","*.example.com"]},
                    "costBudget":{"maxBudget":150,"period":"daily"}}]"#
            )
        ));
        let host = FakeHost::default();
        let req = Request::default();
        let call = |resource: &str, amount: u32| {
            envelope(&format!(
                r#"{{"action":{{"type":"pay","resource":"{resource}"}},"principal":{{"type":"agent","id":"a"}},"constraints":{{"maxAmount":{amount}}}}}"#
            ))
        };
        let v = e.evaluate(&host, &call("https://api.stripe.com/v1/charges", 120), &req);
        assert_eq!(
            v.reason,
            "Envelope maxAmount (120) exceeds policy limit (100)"
        );
        let v = e.evaluate(&host, &call("evil.com/x", 10), &req);
        assert_eq!(
            v.reason,
            "Destination evil.com is not in the rule's allowedDomains"
        );
        assert_eq!(
            e.evaluate(&host, &call("a.example.com:443/x", 100), &req)
                .outcome,
            Outcome::Allow
        );
        assert_eq!(
            e.evaluate(&host, &call("example.com/x", 10), &req).outcome,
            Outcome::Deny,
            "apex is not a subdomain"
        );
        let v = e.evaluate(&host, &call("api.stripe.com", 60), &req);
        assert!(v.reason.starts_with("Budget exceeded"), "{}", v.reason);
        assert_eq!(
            e.evaluate(&host, &call("api.stripe.com", 50), &req).outcome,
            Outcome::Allow
        );
    }

    #[test]
    fn approval_tokens_approve_once_and_only_the_same_call() {
        let e = engine(&format!(
            "[{}]",
            policy(
                "appr",
                r#""rules":[{"id":"del","effect":"require_approval","description":"needs a human",
                    "approvalConfig":{"requiredApprovals":2,"expiresIn":"30m"}}]"#
            )
        ));
        let host = FakeHost::default();
        let call = |path: &str| {
            envelope(&format!(
                r#"{{"action":{{"type":"fs.delete","resource":"fs","parameters":{{"path":"{path}"}}}},"principal":{{"type":"agent","id":"a"}}}}"#
            ))
        };
        let v = e.evaluate(&host, &call("/tmp/x"), &Request::default());
        assert_eq!(
            (v.outcome, &*v.reason),
            (Outcome::RequireApproval, "needs a human")
        );
        let approval = v.approval.unwrap();
        assert_eq!(
            (approval.required_approvals, approval.expires_in.as_deref()),
            (2, Some("30m"))
        );

        let key = ApprovalKey::from_hex(KEY).unwrap();
        let approved = call("/tmp/x");
        let binding = Binding::of(&approved);
        let token = mint(&key, &binding, [9; 16], 1_000);
        let at = |secs: u64| Request {
            now_nanos: secs * 1_000_000_000,
            approval_token: Some(&token),
        };
        assert_eq!(
            e.evaluate(&host, &call("/etc"), &at(10)).outcome,
            Outcome::RequireApproval,
            "changed args"
        );
        let v = e.evaluate(&host, &call("/tmp/x"), &at(10));
        assert_eq!((v.outcome, v.approved_by_token), (Outcome::Allow, true));
        let v = e.evaluate(&host, &call("/tmp/x"), &at(11));
        assert!(
            v.reason
                .ends_with("(the approval token has already been used)"),
            "{}",
            v.reason
        );
        let late = mint(&key, &binding, [8; 16], 1_000);
        let v = e.evaluate(
            &host,
            &call("/tmp/x"),
            &Request {
                now_nanos: 1_000_000_000_000,
                approval_token: Some(&late),
            },
        );
        assert!(v.reason.contains("expired"), "{}", v.reason);
    }

    #[test]
    fn session_rules_apply_per_session() {
        let e = engine(&format!(
            "[{}]",
            policy(
                "s",
                r#""sessionRules":{"maxActionsPerSession":3,"forbiddenSequences":[
                    {"sequence":["mcp.*.read_secret","mcp.*.send"],"lookbackActions":5,"effect":"deny","reason":"no exfiltration"}]},
                   "defaultEffect":"allow","rules":[]"#
            )
        ));
        let host = FakeHost::default();
        let req = Request::default();
        let call =
            |kind: &str, sid: &str| action(kind, &format!(r#","context":{{"sessionId":"{sid}"}}"#));
        assert_eq!(
            e.evaluate(&host, &call("mcp.vault.read_secret", "one"), &req)
                .outcome,
            Outcome::Allow
        );
        let v = e.evaluate(&host, &call("mcp.mail.send", "one"), &req);
        assert_eq!((v.outcome, &*v.reason), (Outcome::Deny, "no exfiltration"));
        assert_eq!(
            e.evaluate(&host, &call("mcp.mail.send", "two"), &req)
                .outcome,
            Outcome::Allow,
            "other session"
        );
        assert_eq!(
            e.evaluate(&host, &call("mcp.fs.list", "one"), &req).outcome,
            Outcome::Allow
        );
        assert_eq!(
            e.evaluate(&host, &call("mcp.fs.list", "one"), &req).outcome,
            Outcome::Allow
        );
        let v = e.evaluate(&host, &call("mcp.fs.list", "one"), &req);
        assert_eq!(
            v.reason,
            "Session action limit exceeded: 4 actions (limit: 3)"
        );
        // Without a session id, session rules cannot apply.
        assert_eq!(
            e.evaluate(&host, &action("mcp.mail.send", ""), &req)
                .outcome,
            Outcome::Allow
        );
    }

    #[test]
    fn destination_hosts_are_extracted() {
        assert_eq!(
            destination_host("https://u:p@API.x.com.:8443/a?b").as_deref(),
            Some("api.x.com")
        );
        assert_eq!(destination_host("[::1]:80/x").as_deref(), Some("::1"));
        assert_eq!(destination_host("/only/path"), None);
    }
}
