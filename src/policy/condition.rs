//! Condition trees compiled from `all` / `any` / `not` / leaf nodes, and their evaluation with
//! Authensor's operator semantics: strict equality without coercion, numeric comparisons only
//! between numbers (IEEE doubles), string operators only on strings, strict `in` membership,
//! unanchored `matches`, and `exists`. What Authensor silently evaluates to a constant (leaves
//! without field or operator, operand types an operator can never use, unknown operators) is
//! rejected here at compile time, with the JSON path.

use serde_json::Value;

use super::field::{Field, Val};
use super::jsregex;
use super::model::{ConditionModel, Operator};
use crate::config::ConfigError;

/// Deepest nesting of `all` / `any` / `not`.
pub const MAX_DEPTH: usize = 32;

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Cond {
    All(Box<[Cond]>),
    Any(Box<[Cond]>),
    Not(Box<Cond>),
    Leaf(Leaf),
}

#[derive(Debug, Clone)]
pub struct Leaf {
    pub field: Field,
    pub op: Op,
}

/// A scalar operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(Box<str>),
}

/// Members of an `in` / `notIn` list, grouped by type for fast strict lookup.
#[derive(Debug, Clone, Default)]
pub struct Set {
    pub strs: Box<[Box<str>]>,
    nums: Box<[f64]>,
    null: bool,
    bools: [bool; 2],
}

#[derive(Debug, Clone)]
pub enum Op {
    Eq(Lit),
    Neq(Lit),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    In(Set),
    NotIn(Set),
    Contains(Box<str>),
    StartsWith(Box<str>),
    EndsWith(Box<str>),
    Matches(jsregex::Pattern),
    Exists(bool),
}

/// Counts compiled nodes and list members against a global budget.
pub struct Budget {
    pub remaining: usize,
    pub limit: usize,
}

impl Budget {
    fn take(&mut self, n: usize, path: &str) -> Result<(), ConfigError> {
        match self.remaining.checked_sub(n) {
            Some(r) => {
                self.remaining = r;
                Ok(())
            }
            None => Err(ConfigError::new(
                path,
                format!(
                    "the policies hold more than {} condition nodes and list members in total",
                    self.limit
                ),
            )),
        }
    }
}

impl Cond {
    pub fn compile(
        m: &ConditionModel,
        path: &str,
        budget: &mut Budget,
    ) -> Result<Cond, ConfigError> {
        compile_at(m, path, 0, budget)
    }

    pub fn eval(&self, e: &super::envelope::Envelope) -> bool {
        match self {
            Cond::All(cs) => cs.iter().all(|c| c.eval(e)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(e)),
            Cond::Not(c) => !c.eval(e),
            Cond::Leaf(l) => l.op.test(&l.field.resolve(e)),
        }
    }

    /// Visit every leaf.
    pub fn leaves<'a>(&'a self, out: &mut Vec<&'a Leaf>) {
        match self {
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| c.leaves(out)),
            Cond::Not(c) => c.leaves(out),
            Cond::Leaf(l) => out.push(l),
        }
    }
}

fn compile_at(
    m: &ConditionModel,
    path: &str,
    depth: usize,
    budget: &mut Budget,
) -> Result<Cond, ConfigError> {
    if depth > MAX_DEPTH {
        return Err(ConfigError::new(
            path,
            format!("conditions nest deeper than {MAX_DEPTH} levels"),
        ));
    }
    budget.take(1, path)?;
    let is_leaf = m.field.is_some() || m.operator.is_some() || m.value.is_some();
    let kinds = [m.all.is_some(), m.any.is_some(), m.not.is_some(), is_leaf];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(ConfigError::new(
            path,
            "a condition must be exactly one of: {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}}, or a leaf {\"field\", \"operator\", \"value\"}",
        ));
    }
    let list = |items: &[ConditionModel],
                key: &str,
                budget: &mut Budget|
     -> Result<Box<[Cond]>, ConfigError> {
        items
            .iter()
            .enumerate()
            .map(|(i, c)| compile_at(c, &format!("{path}.{key}[{i}]"), depth + 1, budget))
            .collect()
    };
    if let Some(items) = &m.all {
        return Ok(Cond::All(list(items, "all", budget)?));
    }
    if let Some(items) = &m.any {
        return Ok(Cond::Any(list(items, "any", budget)?));
    }
    if let Some(inner) = &m.not {
        return Ok(Cond::Not(Box::new(compile_at(
            inner,
            &format!("{path}.not"),
            depth + 1,
            budget,
        )?)));
    }
    let field_text = m.field.as_deref().ok_or_else(|| {
        ConfigError::new(format!("{path}.field"), "a leaf condition needs a field")
    })?;
    let operator = m.operator.ok_or_else(|| {
        ConfigError::new(
            format!("{path}.operator"),
            "a leaf condition needs an operator",
        )
    })?;
    let field =
        Field::compile(field_text).map_err(|e| ConfigError::new(format!("{path}.field"), e))?;
    let value_path = format!("{path}.value");
    let op = compile_op(operator, m.value.as_ref(), &value_path, budget)?;
    Ok(Cond::Leaf(Leaf { field, op }))
}

fn compile_op(
    op: Operator,
    value: Option<&Value>,
    path: &str,
    budget: &mut Budget,
) -> Result<Op, ConfigError> {
    let err = |msg: &str| ConfigError::new(path, msg.to_owned());
    let Some(value) = value else {
        return Err(err(match op {
            Operator::Exists => {
                "exists needs \"value\": true (present and not null) or false (absent or null)"
            }
            _ => "this operator needs a value",
        }));
    };
    let number = || {
        value
            .as_f64()
            .ok_or_else(|| err("expected a number: this comparison is false for anything else"))
    };
    let string = || {
        value
            .as_str()
            .map(Box::from)
            .ok_or_else(|| err("expected a string: this operator only compares strings"))
    };
    Ok(match op {
        Operator::Eq => Op::Eq(scalar(value).ok_or_else(|| {
            err("expected a string, number, boolean or null: objects and arrays are never equal")
        })?),
        Operator::Neq => Op::Neq(scalar(value).ok_or_else(|| {
            err("expected a string, number, boolean or null: objects and arrays are never equal")
        })?),
        Operator::Gt => Op::Gt(number()?),
        Operator::Gte => Op::Gte(number()?),
        Operator::Lt => Op::Lt(number()?),
        Operator::Lte => Op::Lte(number()?),
        Operator::In | Operator::NotIn => {
            let items = value
                .as_array()
                .ok_or_else(|| err("expected an array of values"))?;
            budget.take(items.len(), path)?;
            let set = Set::new(items).map_err(|i| {
                ConfigError::new(format!("{path}[{i}]"), "expected a string, number, boolean or null: objects and arrays are never members")
            })?;
            if op == Operator::In {
                Op::In(set)
            } else {
                Op::NotIn(set)
            }
        }
        Operator::Contains => Op::Contains(string()?),
        Operator::StartsWith => Op::StartsWith(string()?),
        Operator::EndsWith => Op::EndsWith(string()?),
        Operator::Matches => {
            Op::Matches(jsregex::compile(&string()?).map_err(|e| ConfigError::new(path, e))?)
        }
        Operator::Exists => Op::Exists(
            value
                .as_bool()
                .ok_or_else(|| err("expected true or false"))?,
        ),
    })
}

fn scalar(v: &Value) -> Option<Lit> {
    Some(match v {
        Value::Null => Lit::Null,
        Value::Bool(b) => Lit::Bool(*b),
        Value::Number(n) => Lit::Num(n.as_f64()?),
        Value::String(s) => Lit::Str(s.as_str().into()),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

impl Set {
    /// Group the members; `Err(i)` names the first object or array member.
    fn new(items: &[Value]) -> Result<Set, usize> {
        let mut strs = Vec::new();
        let mut nums = Vec::new();
        let mut set = Set::default();
        for (i, item) in items.iter().enumerate() {
            match scalar(item).ok_or(i)? {
                Lit::Null => set.null = true,
                Lit::Bool(b) => set.bools[usize::from(b)] = true,
                Lit::Num(n) => nums.push(n),
                Lit::Str(s) => strs.push(s),
            }
        }
        strs.sort();
        strs.dedup();
        set.strs = strs.into_boxed_slice();
        set.nums = nums.into_boxed_slice();
        Ok(set)
    }

    fn contains(&self, v: &Val<'_>) -> bool {
        match v {
            Val::Str(s) => self
                .strs
                .binary_search_by(|m| (**m).cmp(s.as_ref()))
                .is_ok(),
            Val::Num(n) => self.nums.contains(n),
            Val::Bool(b) => self.bools[usize::from(*b)],
            Val::Null => self.null,
            Val::Missing | Val::Composite => false,
        }
    }
}

impl Lit {
    fn equals(&self, v: &Val<'_>) -> bool {
        match (self, v) {
            (Lit::Null, Val::Null) => true,
            (Lit::Bool(a), Val::Bool(b)) => a == b,
            (Lit::Num(a), Val::Num(b)) => a == b,
            (Lit::Str(a), Val::Str(b)) => **a == **b,
            _ => false,
        }
    }
}

impl Op {
    pub fn test(&self, v: &Val<'_>) -> bool {
        let num = |f: &dyn Fn(f64) -> bool| matches!(v, Val::Num(n) if f(*n));
        let text = |f: &dyn Fn(&str) -> bool| matches!(v, Val::Str(s) if f(s));
        match self {
            Op::Eq(l) => l.equals(v),
            Op::Neq(l) => !l.equals(v),
            Op::Gt(x) => num(&|n| n > *x),
            Op::Gte(x) => num(&|n| n >= *x),
            Op::Lt(x) => num(&|n| n < *x),
            Op::Lte(x) => num(&|n| n <= *x),
            Op::In(s) => s.contains(v),
            Op::NotIn(s) => !s.contains(v),
            Op::Contains(x) => text(&|s| s.contains(&**x)),
            Op::StartsWith(x) => text(&|s| s.starts_with(&**x)),
            Op::EndsWith(x) => text(&|s| s.ends_with(&**x)),
            Op::Matches(r) => text(&|s| r.is_match(s)),
            Op::Exists(want) => !matches!(v, Val::Missing | Val::Null) == *want,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::envelope::Envelope;

    fn budget() -> Budget {
        Budget {
            remaining: 10_000,
            limit: 10_000,
        }
    }

    fn cond(json: &str) -> Result<Cond, ConfigError> {
        let m: ConditionModel = serde_json::from_str(json).unwrap();
        Cond::compile(&m, "c", &mut budget())
    }

    fn envelope(params: &str) -> Envelope {
        serde_json::from_str(&format!(
            r#"{{"action":{{"type":"t","parameters":{params}}},"principal":{{"type":"agent","id":"p"}}}}"#
        ))
        .unwrap()
    }

    /// Evaluate `operator value` on `action.parameters.x` for params `{"x": <field>}` (or `{}`).
    fn check(operator: &str, value: &str, field: Option<&str>) -> bool {
        let c = cond(&format!(
            r#"{{"field":"action.parameters.x","operator":"{operator}","value":{value}}}"#
        ))
        .unwrap();
        let params = field.map_or("{}".to_owned(), |f| format!(r#"{{"x":{f}}}"#));
        c.eval(&envelope(&params))
    }

    #[test]
    fn eq_and_neq_are_strict() {
        assert!(check("eq", "1", Some("1.0")));
        assert!(check("eq", "1", Some("1e0")));
        assert!(check("eq", "9007199254740992", Some("9007199254740993")));
        assert!(!check("eq", r#""1""#, Some("1")));
        assert!(!check("eq", "true", Some(r#""true""#)));
        assert!(!check("eq", "null", None));
        assert!(check("eq", "null", Some("null")));
        assert!(check("neq", "1", None));
        assert!(check("neq", r#""a""#, Some(r#"{"a":1}"#)));
        assert!(!check("eq", r#""a""#, Some(r#"["a"]"#)));
    }

    #[test]
    fn ordering_needs_two_numbers() {
        assert!(check("gt", "5", Some("6")));
        assert!(!check("gt", "5", Some(r#""6""#)));
        assert!(!check("gt", "5", None));
        assert!(check("gte", "5", Some("5")));
        assert!(check("lt", "5", Some("-1")));
        assert!(check("lte", "5", Some("5.0")));
        assert!(!check("lte", "5", Some("null")));
    }

    #[test]
    fn membership_is_strict() {
        assert!(check("in", r#"["a",1,null,true]"#, Some(r#""a""#)));
        assert!(check("in", r#"["a",1,null,true]"#, Some("1.0")));
        assert!(check("in", r#"["a",1,null,true]"#, Some("null")));
        assert!(!check("in", r#"["a",1,null,true]"#, Some("false")));
        assert!(!check("in", r#"["1"]"#, Some("1")));
        assert!(!check("in", r#"["a"]"#, None));
        assert!(check("notIn", r#"["a"]"#, None));
        assert!(check("notIn", r#"["a"]"#, Some(r#"["a"]"#)));
        assert!(!check("notIn", r#"["a"]"#, Some(r#""a""#)));
    }

    #[test]
    fn string_operators_need_strings() {
        assert!(check("contains", r#""ab""#, Some(r#""xaby""#)));
        assert!(!check("contains", r#""AB""#, Some(r#""xaby""#)));
        assert!(!check("contains", r#""a""#, Some(r#"["a"]"#)));
        assert!(check("startsWith", r#""""#, Some(r#""anything""#)));
        assert!(!check("startsWith", r#""""#, Some("1")));
        assert!(check("endsWith", r#"".rs""#, Some(r#""main.rs""#)));
        assert!(check("matches", r#""b+c""#, Some(r#""abbbcd""#)));
        assert!(!check("matches", r#""^b""#, Some(r#""abc""#)));
        assert!(!check("matches", r#""1""#, Some("1")));
    }

    #[test]
    fn exists_distinguishes_absent_null_and_falsy() {
        for present in ["false", "0", r#""""#, "[]"] {
            assert!(check("exists", "true", Some(present)), "{present}");
        }
        assert!(!check("exists", "true", Some("null")));
        assert!(!check("exists", "true", None));
        assert!(check("exists", "false", None));
        assert!(check("exists", "false", Some("null")));
    }

    #[test]
    fn logic_branches() {
        let e = envelope(r#"{"a":1}"#);
        let t = r#"{"field":"action.parameters.a","operator":"eq","value":1}"#;
        let f = r#"{"field":"action.parameters.a","operator":"eq","value":2}"#;
        assert!(cond(r#"{"all":[]}"#).unwrap().eval(&e));
        assert!(!cond(r#"{"any":[]}"#).unwrap().eval(&e));
        assert!(cond(&format!(r#"{{"all":[{t},{{"not":{f}}}]}}"#))
            .unwrap()
            .eval(&e));
        assert!(!cond(&format!(r#"{{"any":[{f},{{"not":{t}}}]}}"#))
            .unwrap()
            .eval(&e));
    }

    #[test]
    fn what_authensor_ignores_is_rejected_with_a_path() {
        let err = |j: &str| cond(j).unwrap_err().to_string();
        assert!(err("{}").starts_with("c: a condition must be exactly one of"));
        assert!(err(r#"{"not":{}}"#).starts_with("c.not: a condition must be"));
        assert!(err(r#"{"all":[{"field":"a"}]}"#)
            .starts_with("c.all[0].operator: a leaf condition needs an operator"));
        assert!(err(r#"{"operator":"eq","value":1}"#)
            .starts_with("c.field: a leaf condition needs a field"));
        assert!(err(r#"{"all":[],"field":"a","operator":"eq","value":1}"#).contains("exactly one"));
        assert!(err(r#"{"field":"a","operator":"gt","value":"5"}"#)
            .starts_with("c.value: expected a number"));
        assert!(err(r#"{"field":"a","operator":"in","value":"a"}"#)
            .starts_with("c.value: expected an array"));
        assert!(err(r#"{"field":"a","operator":"in","value":["a",{}]}"#)
            .starts_with("c.value[1]: expected"));
        assert!(err(r#"{"field":"a","operator":"exists","value":"yes"}"#)
            .starts_with("c.value: expected true or false"));
        assert!(err(r#"{"field":"a","operator":"exists"}"#).starts_with("c.value: exists needs"));
        assert!(err(r#"{"field":"a","operator":"eq","value":{}}"#).contains("never equal"));
        assert!(err(r#"{"field":"a","operator":"matches","value":"(?i)x"}"#)
            .starts_with("c.value: unsupported group"));
        assert!(serde_json::from_str::<ConditionModel>(
            r#"{"field":"a","operator":"like","value":1}"#
        )
        .is_err());
    }

    #[test]
    fn depth_and_size_limits() {
        let mut deep = r#"{"field":"a","operator":"exists","value":true}"#.to_owned();
        for _ in 0..=MAX_DEPTH {
            deep = format!(r#"{{"not":{deep}}}"#);
        }
        assert!(cond(&deep).unwrap_err().message.contains("nest deeper"));
        let m: ConditionModel = serde_json::from_str(&format!(
            r#"{{"field":"a","operator":"in","value":[{}]}}"#,
            vec!["1"; 20].join(",")
        ))
        .unwrap();
        let mut small = Budget {
            remaining: 10,
            limit: 10,
        };
        assert!(Cond::compile(&m, "c", &mut small)
            .unwrap_err()
            .message
            .contains("more than 10"));
    }
}
