//! What the filter tells the proxy about each stream, for access logs and RBAC: the decision,
//! the policy and rule behind it, the would-be outcome in shadow and the most severe detection,
//! as stream properties (Envoy filter state `wasm.authensor.*`, e.g.
//! `%FILTER_STATE(wasm.authensor.decision:PLAIN)%`). Set when the decision is made and again
//! when the answer changes it; an absent value is `-`, as in Envoy's own access log fields.

use crate::aegis::Finding;
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

/// Set every property of the stream from its decision, would-be outcome and findings.
pub fn publish(
    host: &mut impl Host,
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
        decision.outcome.as_str(),
        would.unwrap_or(ABSENT),
        decision.policy.as_deref().unwrap_or(ABSENT),
        decision.rule.as_deref().unwrap_or(ABSENT),
        top.map_or(ABSENT, |d| d.kind.as_str()),
        top.map_or(ABSENT, |d| d.sub_type.as_str()),
    ];
    for (name, value) in NAMES.iter().zip(values) {
        host.set_property(name, value);
    }
}
