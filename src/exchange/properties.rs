//! What the filter tells the proxy about each stream, for access logs and RBAC: the decision,
//! the policy and rule behind it, the would-be outcome in shadow and the most severe detection,
//! as stream properties (Envoy filter state `wasm.authensor.*`, e.g.
//! `%FILTER_STATE(wasm.authensor.decision:PLAIN)%`). Set when the decision is made and again
//! when the answer changes it. An absent value is not set (one host call fewer; the access log
//! shows its own marker for it), or set to `-` when a later decision clears an earlier value;
//! a value already set is not set again.

use crate::aegis::{fnv1a, Finding};
use crate::decision::Decision;
use crate::host::Host;

/// The property names, in the order they are set.
pub const NAMES: [&str; 6] = [
    "authensor.decision",
    "authensor.would",
    "authensor.policy",
    "authensor.rule",
    "authensor.detection_type",
    "authensor.detection_sub_type",
];

const ABSENT: &str = "-";

/// A fingerprint of the value each property was last set to (`None`: not set, or cleared). The
/// values come from the configuration and fixed vocabularies, not from traffic.
#[derive(Debug, Default, Clone, Copy)]
pub struct Published([Option<u32>; NAMES.len()]);

/// Set the stream's properties from its decision, would-be outcome and findings. A property
/// already holding its value is not set again (one host call fewer when the answer changes
/// nothing).
pub fn publish(
    host: &mut impl Host,
    published: &mut Published,
    decision: &Decision,
    would: Option<&str>,
    findings: &[Finding],
) {
    // The most severe detection; the first of equals.
    let top = findings.iter().map(|f| &f.detection).reduce(|best, d| {
        if d.severity > best.severity {
            d
        } else {
            best
        }
    });
    let values = [
        Some(decision.outcome.as_str()),
        would,
        decision.policy.as_deref(),
        decision.rule.as_deref(),
        top.map(|d| d.kind.as_str()),
        top.map(|d| d.sub_type.as_str()),
    ];
    for ((name, value), last) in NAMES.iter().zip(values).zip(&mut published.0) {
        let print = value.map(|v| fnv1a(v.as_bytes()));
        if print == *last {
            continue;
        }
        match value {
            Some(value) => host.set_property(name, value),
            None => host.set_property(name, ABSENT),
        }
        *last = print;
    }
}
