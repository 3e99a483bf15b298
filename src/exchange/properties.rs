//! What the filter tells the proxy about each stream, for access logs and RBAC: the decision,
//! the policy and rule behind it, the would-be outcome in shadow and the most severe detection,
//! as stream properties (Envoy filter state `wasm.authensor.*`, e.g.
//! `%FILTER_STATE(wasm.authensor.decision:PLAIN)%`). Set when the decision is made and again
//! when the answer changes it. An absent value is not set (one host call fewer; the access log
//! shows its own marker for it), or set to `-` when a later decision clears an earlier value.

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

/// Which properties this stream has set to a value (bit `i` for `NAMES[i]`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Published(u8);

/// Set the stream's properties from its decision, would-be outcome and findings.
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
    for (i, (name, value)) in NAMES.iter().zip(values).enumerate() {
        let bit = 1 << i;
        match value {
            Some(value) => {
                host.set_property(name, value);
                published.0 |= bit;
            }
            None if published.0 & bit != 0 => {
                host.set_property(name, ABSENT);
                published.0 &= !bit;
            }
            None => {}
        }
    }
}
