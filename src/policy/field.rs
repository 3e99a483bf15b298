//! Condition field paths (`action.parameters.path`, `principal.id`, `aegis.threatLevel`, ...):
//! split and classified once at compile time, then resolved against a typed [`Envelope`] without
//! building JSON. Semantics follow Authensor's dot paths: array indexes work (`list.1`), walking
//! into a string or number gives "missing", keys containing dots are unreachable; unlike
//! JavaScript there are no prototype members (`constructor`, `length`, ...).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::aegis::{self, Aegis};
use super::envelope::Envelope;
use crate::detection::DetectionType;
use crate::timefmt::rfc3339_millis;

/// Most segments in one field path.
pub const MAX_SEGMENTS: usize = 32;

/// A resolved field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Missing,
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    /// An object or array: present, but never equal to anything.
    Composite,
}

impl<'a> Val<'a> {
    fn str(s: &'a str) -> Val<'a> {
        Val::Str(Cow::Borrowed(s))
    }

    fn opt(s: Option<&'a str>) -> Val<'a> {
        s.map_or(Val::Missing, Val::str)
    }

    pub fn json(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => n.as_f64().map_or(Val::Missing, Val::Num),
            Value::String(s) => Val::str(s),
            Value::Array(_) | Value::Object(_) => Val::Composite,
        }
    }
}

/// One path segment: an object key, and the array index it denotes if it is a canonical integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    key: Box<str>,
    index: Option<usize>,
}

impl Seg {
    fn new(key: &str) -> Seg {
        let canonical =
            key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
        Seg {
            key: key.into(),
            index: if canonical { key.parse().ok() } else { None },
        }
    }
}

/// Where a path starts in the typed envelope; JSON-valued roots walk `rest` further.
#[derive(Debug, Clone, PartialEq)]
enum Root {
    Missing,
    Composite,
    Id,
    Timestamp,
    ActionType,
    ActionResource,
    ActionOperation,
    ActionParameters,
    ActionExtra,
    PrincipalType,
    PrincipalId,
    PrincipalName,
    PrincipalAttributes,
    PrincipalExtra,
    Context(ContextField),
    ContextEnvironment,
    ContextMetadata,
    ContextExtra,
    Constraints,
    AegisScanned,
    AegisThreatLevel,
    AegisThreatScore,
    AegisCount,
    AegisTypes,
    AegisTypeAt(usize),
    AegisDetections,
    AegisDetection(usize),
    AegisDetectionField(usize, DetectionField),
    AegisType(DetectionType),
    AegisTypeLevel(DetectionType),
    AegisTypeScore(DetectionType),
    AegisTypeCount(DetectionType),
    /// `aegis.byRole.<role>` (or `.<type>`): present, composite.
    AegisRole,
    AegisRoleStat(usize, Option<DetectionType>, Stat),
}

/// A summary statistic: `level`, `score` or `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stat {
    Level,
    Score,
    Count,
}

impl Stat {
    fn named(name: &str) -> Option<Stat> {
        match name {
            "level" => Some(Stat::Level),
            "score" => Some(Stat::Score),
            "count" => Some(Stat::Count),
            _ => None,
        }
    }

    fn of<'a>(self, s: aegis::TypeSummary) -> Val<'a> {
        match self {
            Stat::Level => Val::str(aegis::level(s.max)),
            Stat::Score => Val::Num(aegis::score(s.max)),
            Stat::Count => Val::Num(f64::from(s.count)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContextField {
    SessionId,
    TraceId,
    ParentEnvelopeId,
    ParentReceiptId,
    SourceIp,
    UserAgent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DetectionField {
    Type,
    SubType,
    Severity,
    Path,
    Rule,
    Confidence,
    Role,
}

/// A compiled field path.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    root: Root,
    /// For JSON roots: the segments to walk (for `*Extra`, the first is the member name).
    rest: Box<[Seg]>,
}

impl Field {
    /// Compile a dot path; errors describe what is wrong with it.
    pub fn compile(path: &str) -> Result<Field, String> {
        if path.is_empty() {
            return Err("field must be a non-empty dot path such as \"action.type\"".into());
        }
        let segs: Vec<&str> = path.split('.').collect();
        if segs.len() > MAX_SEGMENTS {
            return Err(format!(
                "field path has {} segments; the limit is {MAX_SEGMENTS}",
                segs.len()
            ));
        }
        if segs.iter().any(|s| s.is_empty()) {
            return Err(format!("field {path:?} has an empty segment"));
        }
        let (root, used) = classify(&segs);
        let rest: Box<[Seg]> = segs
            .get(used..)
            .unwrap_or(&[])
            .iter()
            .map(|s| Seg::new(s))
            .collect();
        let json_root = matches!(
            root,
            Root::ActionParameters
                | Root::ActionExtra
                | Root::PrincipalAttributes
                | Root::PrincipalExtra
                | Root::ContextMetadata
                | Root::ContextExtra
                | Root::Constraints
        );
        // Walking past a typed leaf (a string, number or boolean) finds nothing, as in Authensor.
        let root = if !json_root && !rest.is_empty() {
            Root::Missing
        } else {
            root
        };
        Ok(Field { root, rest })
    }

    /// Whether this path reads `action.type` exactly.
    pub fn is_action_type(&self) -> bool {
        self.root == Root::ActionType
    }

    /// Resolve against an envelope.
    pub fn resolve<'a>(&self, e: &'a Envelope) -> Val<'a> {
        let a = &e.aegis;
        match &self.root {
            Root::Missing => Val::Missing,
            Root::Composite => Val::Composite,
            Root::Id => Val::str(&e.id),
            Root::Timestamp => match &e.timestamp_text {
                Some(t) => Val::str(t),
                None => Val::Str(Cow::Owned(rfc3339_millis(e.timestamp_nanos))),
            },
            Root::ActionType => Val::str(&e.action.kind),
            Root::ActionResource => Val::str(&e.action.resource),
            Root::ActionOperation => Val::opt(e.action.operation.map(|o| o.as_str())),
            Root::ActionParameters => walk(&e.action.parameters, &self.rest),
            Root::ActionExtra => walk_map(&e.action.extra, &self.rest),
            Root::PrincipalType => Val::str(e.principal.kind.as_str()),
            Root::PrincipalId => Val::str(&e.principal.id),
            Root::PrincipalName => Val::opt(e.principal.name.as_deref()),
            Root::PrincipalAttributes => walk(&e.principal.attributes, &self.rest),
            Root::PrincipalExtra => walk_map(&e.principal.extra, &self.rest),
            Root::Context(f) => {
                let c = &e.context;
                Val::opt(match f {
                    ContextField::SessionId => c.session_id.as_deref(),
                    ContextField::TraceId => c.trace_id.as_deref(),
                    ContextField::ParentEnvelopeId => c.parent_envelope_id.as_deref(),
                    ContextField::ParentReceiptId => c.parent_receipt_id.as_deref(),
                    ContextField::SourceIp => c.source_ip.as_deref(),
                    ContextField::UserAgent => c.user_agent.as_deref(),
                })
            }
            Root::ContextEnvironment => Val::opt(e.context.environment.map(environment_name)),
            Root::ContextMetadata => walk(&e.context.metadata, &self.rest),
            Root::ContextExtra => walk_map(&e.context.extra, &self.rest),
            Root::Constraints => walk(&e.constraints, &self.rest),
            Root::AegisScanned => Val::Bool(a.scanned),
            Root::AegisThreatLevel => Val::str(aegis::level(a.max)),
            Root::AegisThreatScore => Val::Num(aegis::score(a.max)),
            Root::AegisCount => Val::Num(a.detections.len() as f64),
            Root::AegisTypes => Val::Composite,
            Root::AegisTypeAt(i) => a
                .types()
                .nth(*i)
                .map_or(Val::Missing, |t| Val::str(t.as_str())),
            Root::AegisDetections => Val::Composite,
            Root::AegisDetection(i) => {
                if *i < a.detections.len() {
                    Val::Composite
                } else {
                    Val::Missing
                }
            }
            Root::AegisDetectionField(i, f) => {
                a.detections.get(*i).map_or(Val::Missing, |d| match f {
                    DetectionField::Type => Val::str(d.kind.as_str()),
                    DetectionField::SubType => Val::str(&d.sub_type),
                    DetectionField::Severity => Val::str(d.severity.as_str()),
                    DetectionField::Path => Val::str(&d.path),
                    DetectionField::Rule => Val::str(&d.rule),
                    DetectionField::Confidence => Val::Num(f64::from(d.confidence)),
                    DetectionField::Role => Val::opt(a.role_of(*i)),
                })
            }
            Root::AegisType(_) => Val::Composite,
            Root::AegisTypeLevel(t) => Val::str(aegis::level(summary(a, *t).max)),
            Root::AegisTypeScore(t) => Val::Num(aegis::score(summary(a, *t).max)),
            Root::AegisTypeCount(t) => Val::Num(f64::from(summary(a, *t).count)),
            Root::AegisRole => Val::Composite,
            Root::AegisRoleStat(r, t, stat) => {
                let role = a.by_role.get(*r).copied().unwrap_or_default();
                let s = match t {
                    None => role.all,
                    Some(t) => aegis::type_index(*t)
                        .and_then(|i| role.by_type.get(i).copied())
                        .unwrap_or_default(),
                };
                stat.of(s)
            }
        }
    }
}

fn summary(a: &Aegis, t: DetectionType) -> aegis::TypeSummary {
    aegis::type_index(t)
        .and_then(|i| a.by_type.get(i).copied())
        .unwrap_or_default()
}

pub fn environment_name(e: crate::config::Environment) -> &'static str {
    use crate::config::Environment::*;
    match e {
        Development => "development",
        Staging => "staging",
        Production => "production",
    }
}

/// Map the leading segments onto the typed envelope; returns the root and how many were used.
fn classify(segs: &[&str]) -> (Root, usize) {
    let index = |s: &str| Seg::new(s).index;
    match segs {
        ["id", ..] => (Root::Id, 1),
        ["timestamp", ..] => (Root::Timestamp, 1),
        ["action"] | ["principal"] | ["context"] | ["aegis"] => (Root::Composite, 1),
        ["action", "type", ..] => (Root::ActionType, 2),
        ["action", "resource", ..] => (Root::ActionResource, 2),
        ["action", "operation", ..] => (Root::ActionOperation, 2),
        ["action", "parameters", ..] => (Root::ActionParameters, 2),
        ["action", ..] => (Root::ActionExtra, 1),
        ["principal", "type", ..] => (Root::PrincipalType, 2),
        ["principal", "id", ..] => (Root::PrincipalId, 2),
        ["principal", "name", ..] => (Root::PrincipalName, 2),
        ["principal", "attributes", ..] => (Root::PrincipalAttributes, 2),
        ["principal", ..] => (Root::PrincipalExtra, 1),
        ["context", "sessionId", ..] => (Root::Context(ContextField::SessionId), 2),
        ["context", "traceId", ..] => (Root::Context(ContextField::TraceId), 2),
        ["context", "parentEnvelopeId", ..] => (Root::Context(ContextField::ParentEnvelopeId), 2),
        ["context", "parentReceiptId", ..] => (Root::Context(ContextField::ParentReceiptId), 2),
        ["context", "sourceIp", ..] => (Root::Context(ContextField::SourceIp), 2),
        ["context", "userAgent", ..] => (Root::Context(ContextField::UserAgent), 2),
        ["context", "environment", ..] => (Root::ContextEnvironment, 2),
        ["context", "metadata", ..] => (Root::ContextMetadata, 2),
        ["context", ..] => (Root::ContextExtra, 1),
        ["constraints", ..] => (Root::Constraints, 1),
        ["aegis", "scanned", ..] => (Root::AegisScanned, 2),
        ["aegis", "threatLevel", ..] => (Root::AegisThreatLevel, 2),
        ["aegis", "threatScore", ..] => (Root::AegisThreatScore, 2),
        ["aegis", "count", ..] => (Root::AegisCount, 2),
        ["aegis", "types"] => (Root::AegisTypes, 2),
        ["aegis", "types", i, ..] => (index(i).map_or(Root::Missing, Root::AegisTypeAt), 3),
        ["aegis", "detections"] => (Root::AegisDetections, 2),
        ["aegis", "detections", i] => (index(i).map_or(Root::Missing, Root::AegisDetection), 3),
        ["aegis", "detections", i, f, ..] => {
            let field = match *f {
                "type" => Some(DetectionField::Type),
                "subType" => Some(DetectionField::SubType),
                "severity" => Some(DetectionField::Severity),
                "path" => Some(DetectionField::Path),
                "rule" => Some(DetectionField::Rule),
                "confidence" => Some(DetectionField::Confidence),
                "role" => Some(DetectionField::Role),
                _ => None,
            };
            match (index(i), field) {
                (Some(i), Some(f)) => (Root::AegisDetectionField(i, f), 4),
                _ => (Root::Missing, segs.len()),
            }
        }
        ["aegis", "byRole"] => (Root::AegisRole, 2),
        ["aegis", "byRole", role, rest @ ..] => match aegis::role_index(role) {
            Some(r) => by_role(r, rest),
            None => (Root::Missing, segs.len()),
        },
        ["aegis", t, rest @ ..] => match (aegis::type_named(t), rest.first().copied()) {
            (Some(t), None) => (Root::AegisType(t), 2),
            (Some(t), Some("level")) => (Root::AegisTypeLevel(t), 3),
            (Some(t), Some("score")) => (Root::AegisTypeScore(t), 3),
            (Some(t), Some("count")) => (Root::AegisTypeCount(t), 3),
            _ => (Root::Missing, segs.len()),
        },
        _ => (Root::Missing, segs.len()),
    }
}

/// `aegis.byRole.<role>` followed by `rest`: `level`, `score`, `count`, or a type and one of them.
fn by_role(r: usize, rest: &[&str]) -> (Root, usize) {
    let kind = rest.first().and_then(|t| aegis::type_named(t));
    match (rest, kind) {
        ([], _) => (Root::AegisRole, 3),
        ([stat, ..], None) => match Stat::named(stat) {
            Some(stat) => (Root::AegisRoleStat(r, None, stat), 4),
            None => (Root::Missing, 3 + rest.len()),
        },
        ([_], Some(_)) => (Root::AegisRole, 4),
        ([_, stat, ..], Some(t)) => match Stat::named(stat) {
            Some(stat) => (Root::AegisRoleStat(r, Some(t), stat), 5),
            None => (Root::Missing, 3 + rest.len()),
        },
    }
}

fn walk<'a>(mut v: &'a Value, segs: &[Seg]) -> Val<'a> {
    for s in segs {
        let next = match v {
            Value::Object(m) => m.get(&*s.key),
            Value::Array(a) => s.index.and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None => return Val::Missing,
        }
    }
    Val::json(v)
}

fn walk_map<'a>(m: &'a Map<String, Value>, segs: &[Seg]) -> Val<'a> {
    match segs.split_first() {
        Some((first, rest)) => m.get(&*first.key).map_or(Val::Missing, |v| walk(v, rest)),
        None => Val::Composite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::{Detection, Severity};

    fn envelope() -> Envelope {
        let mut e: Envelope = serde_json::from_str(
            r#"{"id":"e1","action":{"type":"mcp.fs.read","resource":"fs","operation":"read",
                 "parameters":{"path":"/etc/passwd","list":[1,"two",{"k":true}],"n":null}},
                "principal":{"type":"agent","id":"a1","attributes":{"team":"x"}},
                "context":{"environment":"staging","sessionId":"s1","custom":{"deep":1}}}"#,
        )
        .unwrap();
        e.aegis = Aegis::from_detections(&[Detection {
            kind: DetectionType::Injection,
            sub_type: "override".into(),
            severity: Severity::High,
            confidence: 0.5,
            rule: "inj.1".into(),
            path: "$.text".into(),
            start: 0,
            end: 3,
            preview: String::new(),
        }])
        .with_roles(&["tool"]);
        e
    }

    fn get(path: &str) -> Val<'static> {
        let e = Box::leak(Box::new(envelope()));
        Field::compile(path).unwrap().resolve(e)
    }

    fn s(v: &str) -> Val<'static> {
        Val::Str(Cow::Owned(v.to_owned()))
    }

    #[test]
    fn typed_and_json_fields_resolve() {
        assert_eq!(get("action.type"), s("mcp.fs.read"));
        assert_eq!(get("action.operation"), s("read"));
        assert_eq!(get("action.parameters.path"), s("/etc/passwd"));
        assert_eq!(get("action.parameters.list.1"), s("two"));
        assert_eq!(get("action.parameters.list.2.k"), Val::Bool(true));
        assert_eq!(get("action.parameters.list.01"), Val::Missing);
        assert_eq!(get("action.parameters.n"), Val::Null);
        assert_eq!(get("action.parameters"), Val::Composite);
        assert_eq!(get("principal.type"), s("agent"));
        assert_eq!(get("principal.attributes.team"), s("x"));
        assert_eq!(get("context.environment"), s("staging"));
        assert_eq!(get("context.sessionId"), s("s1"));
        assert_eq!(get("context.custom.deep"), Val::Num(1.0));
        assert_eq!(get("context.traceId"), Val::Missing);
        assert_eq!(get("id"), s("e1"));
    }

    #[test]
    fn no_prototype_members_and_no_walking_into_strings() {
        assert_eq!(get("action.parameters.constructor"), Val::Missing);
        assert_eq!(get("action.parameters.list.length"), Val::Missing);
        assert_eq!(get("action.type.length"), Val::Missing);
        assert_eq!(get("action.parameters.path.0"), Val::Missing);
        assert_eq!(get("nothing.here"), Val::Missing);
        assert_eq!(get("constraints.maxAmount"), Val::Missing);
    }

    #[test]
    fn aegis_fields_resolve() {
        assert_eq!(get("aegis.threatLevel"), s("high"));
        assert_eq!(get("aegis.threatScore"), Val::Num(3.0));
        assert_eq!(get("aegis.count"), Val::Num(1.0));
        assert_eq!(get("aegis.types.0"), s("injection"));
        assert_eq!(get("aegis.types.1"), Val::Missing);
        assert_eq!(get("aegis.injection.level"), s("high"));
        assert_eq!(get("aegis.pii.level"), s("none"));
        assert_eq!(get("aegis.pii.count"), Val::Num(0.0));
        assert_eq!(get("aegis.detections.0.role"), s("tool"));
        assert_eq!(get("aegis.byRole.tool.injection.level"), s("high"));
        assert_eq!(get("aegis.byRole.tool.injection.score"), Val::Num(3.0));
        assert_eq!(get("aegis.byRole.tool.count"), Val::Num(1.0));
        assert_eq!(get("aegis.byRole.user.injection.count"), Val::Num(0.0));
        assert_eq!(get("aegis.byRole.user.level"), s("none"));
        assert_eq!(get("aegis.byRole.tool.pii"), Val::Composite);
        assert_eq!(get("aegis.byRole"), Val::Composite);
        assert_eq!(get("aegis.byRole.robot.count"), Val::Missing);
        assert_eq!(get("aegis.byRole.tool.injection.level.x"), Val::Missing);
        assert_eq!(get("aegis.byRole.tool.nope"), Val::Missing);
        assert_eq!(get("aegis.detections.0.subType"), s("override"));
        assert_eq!(get("aegis.detections.0.path"), s("$.text"));
        assert_eq!(get("aegis.detections.1.type"), Val::Missing);
        assert_eq!(get("aegis.scanned"), Val::Bool(true));
        assert_eq!(get("aegis.bogus"), Val::Missing);
    }

    #[test]
    fn bad_paths_are_rejected() {
        assert!(Field::compile("").is_err());
        assert!(Field::compile("action..type").is_err());
        assert!(Field::compile(&vec!["a"; 40].join(".")).is_err());
    }
}
