//! The text in MCP payloads that a model will read, with the JSON path of each string: tool
//! results (`content[].text`, embedded `resource` text, `structuredContent`), `resources/read`
//! contents, `prompts/get` messages, tool definitions, and server requests such as sampling.
//! Every string value is collected except binary payloads (`blob`, and `data` of image and audio
//! blocks); strings can be replaced in place (redaction), and a tool result replaced by an error.

use serde_json::{json, Value};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A string to scan, borrowed from the payload, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Scannable<'a> {
    pub steps: Vec<Step>,
    pub text: &'a str,
}

impl Scannable<'_> {
    /// The path as `$.result.content[0].text`, relative to `root` (e.g. `$.result`).
    pub fn path(&self, root: &str) -> String {
        let mut out = root.to_owned();
        for step in &self.steps {
            match step {
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

/// Every scannable string under `value`, in document order.
pub fn texts(value: &Value) -> Vec<Scannable<'_>> {
    let mut out = Vec::new();
    let mut steps = Vec::new();
    collect(value, &mut steps, &mut out);
    out
}

fn collect<'a>(value: &'a Value, steps: &mut Vec<Step>, out: &mut Vec<Scannable<'a>>) {
    match value {
        Value::String(text) => out.push(Scannable {
            steps: steps.clone(),
            text,
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                collect(item, steps, out);
                steps.pop();
            }
        }
        Value::Object(map) => {
            let binary_data = matches!(
                map.get("type").and_then(Value::as_str),
                Some("image" | "audio")
            );
            for (key, item) in map {
                if key == "blob" || (binary_data && key == "data") {
                    continue;
                }
                steps.push(Step::Key(key.clone()));
                collect(item, steps, out);
                steps.pop();
            }
        }
        _ => {}
    }
}

/// Replace the string at `steps` under `value`. False if the path does not lead to a string.
pub fn replace_text(value: &mut Value, steps: &[Step], text: String) -> bool {
    let mut at = value;
    for step in steps {
        let next = match step {
            Step::Key(k) => at.get_mut(k.as_str()),
            Step::Index(i) => at.get_mut(*i),
        };
        match next {
            Some(v) => at = v,
            None => return false,
        }
    }
    match at {
        Value::String(s) => {
            *s = text;
            true
        }
        _ => false,
    }
}

/// A `tools/call` result that tells the model (and the user) why the real one was withheld.
pub fn error_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": true})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(v: &Value) -> Vec<(String, &str)> {
        texts(v)
            .iter()
            .map(|s| (s.path("$.result"), s.text))
            .collect()
    }

    #[test]
    fn tool_results_yield_every_text_with_its_path_but_no_binary() {
        let result = json!({
            "content": [
                {"type": "text", "text": "hello"},
                {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "file:///a", "text": "inner", "mimeType": "text/plain"}},
                {"type": "resource", "resource": {"uri": "file:///b", "blob": "AAAA"}}
            ],
            "structuredContent": {"rows": [{"note": "deep"}], "n": 3},
            "isError": false
        });
        let found = paths(&result);
        let want = [
            ("$.result.content[0].text", "hello"),
            ("$.result.content[2].resource.text", "inner"),
            ("$.result.structuredContent.rows[0].note", "deep"),
        ];
        for (p, t) in want {
            assert!(
                found.contains(&(p.to_owned(), t)),
                "{p} missing in {found:?}"
            );
        }
        assert!(!found
            .iter()
            .any(|(_, t)| *t == "iVBORw0KGgo=" || *t == "AAAA"));
    }

    #[test]
    fn resource_contents_and_prompt_messages_are_covered() {
        let read = json!({"contents": [{"uri": "u", "text": "file body"}]});
        assert!(paths(&read).contains(&("$.result.contents[0].text".into(), "file body")));
        let prompt = json!({"description": "d", "messages": [
            {"role": "user", "content": {"type": "text", "text": "say hi"}}]});
        assert!(paths(&prompt).contains(&("$.result.messages[0].content.text".into(), "say hi")));
    }

    #[test]
    fn strings_are_replaced_in_place() {
        let mut v = json!({"content": [{"type": "text", "text": "key=abc"}]});
        let steps = texts(&v)
            .into_iter()
            .find(|s| s.text == "key=abc")
            .unwrap()
            .steps;
        assert!(replace_text(
            &mut v,
            &steps,
            "key=[REDACTED:API_KEY]".into()
        ));
        assert_eq!(v["content"][0]["text"], "key=[REDACTED:API_KEY]");
        assert!(!replace_text(
            &mut v,
            &[Step::Key("nope".into())],
            "x".into()
        ));
        assert!(!replace_text(
            &mut v,
            &[Step::Key("content".into())],
            "x".into()
        ));
    }

    #[test]
    fn error_results_are_tool_errors() {
        assert_eq!(
            error_result("withheld"),
            json!({"content": [{"type": "text", "text": "withheld"}], "isError": true})
        );
    }
}
