//! Shadow policies (`policy_modes` in the filter configuration): a policy in shadow is left out
//! of enforcement, and evaluated separately to tell what it would have decided. The shadow pass
//! walks the policies in evaluation order; the first shadow policy that decides before any
//! enforced policy would gives the would-be verdict. It runs against an overlay of the shared
//! state: its rate-limit and budget counters are kept (so a shadow rate limit can trip), its
//! session records and used approval tokens are not (enforcement sees no trace of it).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::compile::{Policy, PolicyEngine};
use super::envelope::Envelope;
use super::evaluate::{Request, Verdict};
use super::state::SharedStore;
use crate::config::{ConfigError, Mode};

/// Shared-data keys of the counter table (rate limits and budgets), written through.
const COUNTER_KEYS: &str = "authensor/v1/counter/";

impl PolicyEngine {
    /// Put the policies named in `modes` (by id) in their mode; an unknown id is an error at
    /// `policy_modes.<id>`.
    pub fn set_modes(&mut self, modes: &BTreeMap<String, Mode>) -> Result<(), ConfigError> {
        for (id, mode) in modes {
            let mut found = false;
            for p in self.policies.iter_mut().chain(self.disabled.iter_mut()) {
                if *p.id == **id {
                    p.shadow = *mode == Mode::Shadow;
                    found = true;
                }
            }
            if !found {
                return Err(ConfigError::new(
                    format!("policy_modes.{id}"),
                    "no policy in `policies` has this id",
                ));
            }
        }
        Ok(())
    }

    /// Whether any enabled policy is in shadow.
    pub fn has_shadow(&self) -> bool {
        self.policies.iter().any(|p| p.shadow)
    }

    /// What a shadow policy would decide, when one decides before any enforced policy would;
    /// `None` when enforcement would decide the same way without the shadow policies.
    pub fn shadow_verdict<'p, S: SharedStore + ?Sized>(
        &'p self,
        store: &S,
        e: &Envelope,
        req: &Request<'_>,
    ) -> Option<Verdict<'p>> {
        if !self.has_shadow() {
            return None;
        }
        let overlay = Overlay {
            store,
            local: RefCell::default(),
        };
        let mut checked = Vec::new();
        for p in &self.policies {
            if p.shadow {
                if let Some(v) = self.try_policy(&overlay, e, req, p, &mut checked) {
                    return Some(v);
                }
            } else if decides(p, e) {
                return None;
            }
        }
        None
    }
}

/// Whether an enforced policy decides on `e` (its scope matches and a rule matches or it has a
/// `defaultEffect`); side-effect free. Session-rule violations are not foreseen here.
fn decides(p: &Policy, e: &Envelope) -> bool {
    p.scope.matches(e)
        && (p.default_effect.is_some()
            || p.rules
                .iter()
                .any(|r| r.condition.as_ref().is_none_or(|c| c.eval(e))))
}

/// The shared state as a shadow policy sees it: reads fall through to the proxy, writes stay
/// local except the counters.
struct Overlay<'s, S: ?Sized> {
    store: &'s S,
    local: RefCell<HashMap<String, (Vec<u8>, u32)>>,
}

impl<S: SharedStore + ?Sized> SharedStore for Overlay<'_, S> {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match self.local.borrow().get(key) {
            Some(v) => Some(v.clone()),
            None => self.store.get(key),
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: u32) -> bool {
        if key.starts_with(COUNTER_KEYS) {
            return self.store.set(key, value, cas);
        }
        let mut local = self.local.borrow_mut();
        let next = local.get(key).map_or(cas, |(_, c)| *c).wrapping_add(1);
        local.insert(key.to_owned(), (value.to_vec(), next));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Engine;
    use crate::decision::Outcome;
    use crate::policy::state::MemoryStore;
    use crate::policy::{Action, Envelope, Operation};
    use crate::request::RequestFacts;

    fn engine(modes: &str) -> Result<Engine, ConfigError> {
        let json = format!(
            r#"{{"policies": [
                {{"id": "new", "name": "n", "version": "1.0.0", "priority": 10,
                  "rules": [{{"id": "no-admin", "effect": "deny", "description": "admin is off limits",
                    "condition": {{"field": "action.resource", "operator": "contains", "value": "admin"}}}},
                    {{"id": "slow", "effect": "allow", "description": "one a minute",
                    "condition": {{"field": "action.resource", "operator": "contains", "value": "slow"}},
                    "rateLimit": {{"requests": 1, "window": "1m", "scope": "global"}}}}]}},
                {{"id": "old", "name": "o", "version": "1.0.0",
                  "rules": [{{"id": "no-secrets", "effect": "deny", "description": "no",
                    "condition": {{"field": "action.resource", "operator": "contains", "value": "secret"}}}},
                    {{"id": "rest", "effect": "allow", "description": "the rest"}}]}}
            ], "policy_modes": {modes}}}"#
        );
        Engine::from_json(json.as_bytes())
    }

    fn envelope(resource: &str) -> Envelope {
        let action = Action::new(
            "http.get".to_owned(),
            resource.to_owned(),
            Operation::Read,
            serde_json::Value::Null,
        );
        Envelope::for_request(&RequestFacts::default(), &Default::default(), action, 0)
    }

    fn both<'e>(
        e: &'e Engine,
        store: &MemoryStore,
        resource: &str,
    ) -> (Verdict<'e>, Option<Verdict<'e>>) {
        let env = envelope(resource);
        let req = Request::default();
        (
            e.policy.evaluate(store, &env, &req),
            e.policy.shadow_verdict(store, &env, &req),
        )
    }

    #[test]
    fn a_shadow_policy_reports_without_deciding() {
        let e = engine(r#"{"new": "shadow"}"#).unwrap();
        let store = MemoryStore::default();
        let (enforced, would) = both(&e, &store, "h/admin");
        assert_eq!(
            (enforced.outcome, enforced.rule_id),
            (Outcome::Allow, Some("rest"))
        );
        let would = would.unwrap();
        assert_eq!(
            (would.outcome, would.policy_id, would.rule_id),
            (Outcome::Deny, Some("new"), Some("no-admin"))
        );
        // Where the shadow policy does not decide, enforcement is all there is.
        let (enforced, would) = both(&e, &store, "h/secret");
        assert_eq!((enforced.outcome, would), (Outcome::Deny, None));
    }

    #[test]
    fn a_shadow_rate_limit_counts_and_trips_without_limiting() {
        let e = engine(r#"{"new": "shadow"}"#).unwrap();
        let store = MemoryStore::default();
        let first = both(&e, &store, "h/slow");
        let second = both(&e, &store, "h/slow");
        assert_eq!(first.1.map(|v| v.outcome), Some(Outcome::Allow));
        assert_eq!(second.0.outcome, Outcome::Allow);
        assert_eq!(second.1.map(|v| v.outcome), Some(Outcome::RateLimited));
    }

    #[test]
    fn enforce_mode_and_no_modes_change_nothing() {
        for modes in [r#"{"new": "enforce"}"#, "{}"] {
            let e = engine(modes).unwrap();
            let (enforced, would) = both(&e, &MemoryStore::default(), "h/admin");
            assert_eq!(
                (enforced.outcome, enforced.rule_id, would),
                (Outcome::Deny, Some("no-admin"), None)
            );
        }
    }

    #[test]
    fn unknown_policy_ids_and_modes_are_rejected_by_path() {
        let err = engine(r#"{"nope": "shadow"}"#).unwrap_err().to_string();
        assert_eq!(
            err,
            "policy_modes.nope: no policy in `policies` has this id"
        );
        let err = engine(r#"{"new": "monitor"}"#).unwrap_err().to_string();
        assert!(
            err.starts_with("policy_modes.new: unknown variant `monitor`"),
            "{err}"
        );
    }
}
