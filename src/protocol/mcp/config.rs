//! The `mcp` section of the filter configuration, parsed strictly and compiled once per VM.
//!
//! ```json
//! "mcp": {
//!   "paths": ["/mcp"],
//!   "servers": [{"authority": "files.internal:8080", "name": "files",
//!                "tools": {"run_shell": {"operation": "execute"}},
//!                "pinned_tool_hashes": {"read_file": "<64 hex>"}}],
//!   "deny_reply": "tool_error", "reply_format": "auto", "error_code": -32001,
//!   "rug_pull": "remove", "poisoned_tools": "remove",
//!   "tool_results": {"default": "block", "credentials": "redact", "pii": "redact"},
//!   "max_depth": 64, "max_event_bytes": 1048576, "max_remembered_tools": 4096
//! }
//! ```
//! Errors name the JSON path (`mcp.servers[1].name: ...`).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::action::{default_server_name, Operation};
use super::memory::ToolMemory;
use crate::config::ConfigError;
use crate::detection::DetectionType;
use crate::path;

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    /// Path prefixes (whole segments, normalised path) where MCP's Streamable HTTP endpoint lives.
    pub paths: Vec<String>,
    pub servers: Vec<ServerConfig>,
    pub deny_reply: DenyReply,
    pub reply_format: ReplyFormat,
    /// JSON-RPC error code of `jsonrpc_error` denials and refused answers.
    pub error_code: i64,
    pub rug_pull: Removal,
    pub poisoned_tools: Removal,
    pub tool_results: ToolResultsConfig,
    /// Deepest nesting of arrays and objects accepted in a message.
    pub max_depth: usize,
    /// Largest SSE event accepted in a streamed answer.
    pub max_event_bytes: usize,
    /// Most tool definitions remembered per VM for rug-pull detection.
    pub max_remembered_tools: u32,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            paths: vec!["/mcp".to_owned()],
            servers: Vec::new(),
            deny_reply: DenyReply::ToolError,
            reply_format: ReplyFormat::Auto,
            error_code: -32001,
            rug_pull: Removal::Remove,
            poisoned_tools: Removal::Remove,
            tool_results: ToolResultsConfig::default(),
            max_depth: 64,
            max_event_bytes: 1024 * 1024,
            max_remembered_tools: 4096,
        }
    }
}

/// One upstream MCP server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `host` (any port) or `host:port`, as in the request's `:authority`; case-insensitive.
    pub authority: String,
    /// The `<server>` of action types; default: the host with dots as `_`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tools: BTreeMap<String, ToolConfig>,
    /// Tool name to the expected SHA-256 of its definition (see `tools.rs`).
    #[serde(default)]
    pub pinned_tool_hashes: BTreeMap<String, String>,
}

/// Per-tool settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolConfig {
    /// Overrides whatever the tool's annotations claim.
    pub operation: Operation,
}

/// How a denied call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReply {
    /// A `tools/call` result with `isError: true` the model can read (other methods get an error).
    ToolError,
    /// A JSON-RPC error object.
    JsonrpcError,
}

/// Which content type the filter's own answers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyFormat {
    /// SSE when the request's `Accept` takes `text/event-stream` but not `application/json`.
    Auto,
    Json,
    /// SSE whenever the request's `Accept` takes `text/event-stream`.
    Sse,
}

/// What happens to a tool flagged in `tools/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    /// Removed from the list (and calls to it refused), audited.
    Remove,
    /// Kept, audited.
    Alert,
}

/// What happens to a tool result, resource or prompt in which the scanner found something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultAction {
    Log,
    Redact,
    Block,
}

/// Per detection type; `default` covers the types not named.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolResultsConfig {
    pub default: Option<ResultAction>,
    pub injection: Option<ResultAction>,
    pub pii: Option<ResultAction>,
    pub credentials: Option<ResultAction>,
    pub code_safety: Option<ResultAction>,
    pub exfiltration: Option<ResultAction>,
}

/// The compiled section.
#[derive(Debug)]
pub struct CompiledMcp {
    paths: Vec<String>,
    servers: Vec<CompiledServer>,
    pub deny_reply: DenyReply,
    pub reply_format: ReplyFormat,
    pub error_code: i64,
    pub rug_pull: Removal,
    pub poisoned_tools: Removal,
    results: [ResultAction; 5],
    pub max_depth: usize,
    pub max_event_bytes: usize,
    pub memory: ToolMemory,
}

#[derive(Debug)]
struct CompiledServer {
    authority: String,
    name: Option<String>,
    tools: HashMap<String, Operation>,
    pins: HashMap<String, String>,
}

/// The MCP server one request talks to.
#[derive(Debug, Clone)]
pub struct Endpoint<'c> {
    pub mcp: &'c CompiledMcp,
    /// Its name in action types.
    pub server: String,
    config: Option<&'c CompiledServer>,
}

impl Endpoint<'_> {
    /// The operation configured for a tool.
    pub fn configured_operation(&self, tool: &str) -> Option<Operation> {
        self.config?.tools.get(tool).copied()
    }

    /// The pinned definition hash of a tool.
    pub fn pin(&self, tool: &str) -> Option<&str> {
        self.config?.pins.get(tool).map(String::as_str)
    }
}

const TYPES: [DetectionType; 5] = [
    DetectionType::Injection,
    DetectionType::Pii,
    DetectionType::Credentials,
    DetectionType::CodeSafety,
    DetectionType::Exfiltration,
];

impl CompiledMcp {
    pub fn compile(config: McpConfig) -> Result<CompiledMcp, ConfigError> {
        let err = |path: String, msg: String| ConfigError::new(format!("mcp.{path}"), msg);
        if config.paths.is_empty() {
            return Err(err("paths".into(), "expected at least one path".into()));
        }
        for (i, p) in config.paths.iter().enumerate() {
            if !p.starts_with('/') || path::normalize(p) != *p {
                return Err(err(
                    format!("paths[{i}]"),
                    format!("expected a normalised path starting with `/`, got {p:?}"),
                ));
            }
        }
        let reserved = (-32768..=-32100).contains(&config.error_code)
            || [-32700, -32600, -32601, -32602, -32603].contains(&config.error_code);
        if reserved {
            return Err(err(
                "error_code".into(),
                format!(
                    "expected an application error code (e.g. -32001, or outside -32768..-32000), got {}",
                    config.error_code
                ),
            ));
        }
        if !(1..=128).contains(&config.max_depth) {
            return Err(err(
                "max_depth".into(),
                format!("expected 1 to 128, got {}", config.max_depth),
            ));
        }
        if !(1024..=64 * 1024 * 1024).contains(&config.max_event_bytes) {
            return Err(err(
                "max_event_bytes".into(),
                format!(
                    "expected 1024 to 67108864 bytes, got {}",
                    config.max_event_bytes
                ),
            ));
        }
        if config.max_remembered_tools == 0 {
            return Err(err(
                "max_remembered_tools".into(),
                "expected at least 1".into(),
            ));
        }
        let mut servers: Vec<CompiledServer> = Vec::new();
        for (i, s) in config.servers.into_iter().enumerate() {
            let at = |field: &str| format!("servers[{i}].{field}");
            let authority = s.authority.to_ascii_lowercase();
            if authority.is_empty()
                || authority
                    .bytes()
                    .any(|b| !b.is_ascii_graphic() || b == b'/')
            {
                return Err(err(
                    at("authority"),
                    format!("expected `host` or `host:port`, got {:?}", s.authority),
                ));
            }
            if servers.iter().any(|o| o.authority == authority) {
                return Err(err(
                    at("authority"),
                    format!("{authority:?} is configured twice"),
                ));
            }
            if let Some(name) = &s.name {
                let ok = name.len() <= 64
                    && name
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_alphanumeric())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    return Err(err(
                        at("name"),
                        format!("expected letters, digits, `_` and `-` (one action-type segment, at most 64), got {name:?}"),
                    ));
                }
            }
            for (tool, hash) in &s.pinned_tool_hashes {
                if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    return Err(err(
                        format!("servers[{i}].pinned_tool_hashes.{tool}"),
                        format!("expected 64 lower-case hex digits (SHA-256), got {hash:?}"),
                    ));
                }
            }
            servers.push(CompiledServer {
                authority,
                name: s.name,
                tools: s.tools.into_iter().map(|(k, v)| (k, v.operation)).collect(),
                pins: s.pinned_tool_hashes.into_iter().collect(),
            });
        }
        let r = &config.tool_results;
        let pick =
            |v: Option<ResultAction>, fallback: ResultAction| v.or(r.default).unwrap_or(fallback);
        let results = [
            pick(r.injection, ResultAction::Block),
            pick(r.pii, ResultAction::Redact),
            pick(r.credentials, ResultAction::Redact),
            pick(r.code_safety, ResultAction::Log),
            pick(r.exfiltration, ResultAction::Block),
        ];
        Ok(CompiledMcp {
            paths: config.paths,
            servers,
            deny_reply: config.deny_reply,
            reply_format: config.reply_format,
            error_code: config.error_code,
            rug_pull: config.rug_pull,
            poisoned_tools: config.poisoned_tools,
            results,
            max_depth: config.max_depth,
            max_event_bytes: config.max_event_bytes,
            memory: ToolMemory {
                max_tools: config.max_remembered_tools,
            },
        })
    }

    /// Whether a request to this (normalised) path is MCP traffic.
    pub fn handles_path(&self, normalized_path: &str) -> bool {
        self.paths
            .iter()
            .any(|p| path::has_segment_prefix(normalized_path, p))
    }

    /// The server behind `authority` (`host` is the same without its port).
    pub fn endpoint(&self, authority: &str, host: &str) -> Endpoint<'_> {
        let authority = authority.to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        let config = self
            .servers
            .iter()
            .find(|s| s.authority == authority)
            .or_else(|| self.servers.iter().find(|s| s.authority == host));
        let server = config
            .and_then(|c| c.name.clone())
            .unwrap_or_else(|| default_server_name(&host));
        Endpoint {
            mcp: self,
            server,
            config,
        }
    }

    /// What to do with a finding of this type in a tool result.
    pub fn result_action(&self, kind: DetectionType) -> ResultAction {
        let at = TYPES.iter().position(|t| *t == kind).unwrap_or(0);
        self.results.get(at).copied().unwrap_or(ResultAction::Block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_strict;

    /// Parse as the integrator will: the section under `mcp` in the whole document.
    fn compile(json: &str) -> Result<CompiledMcp, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc {
            mcp: McpConfig,
        }
        let doc: Doc = parse_strict(json.as_bytes()).map_err(|e| e.to_string())?;
        CompiledMcp::compile(doc.mcp).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = compile(r#"{"mcp": {}}"#).unwrap();
        assert!(c.handles_path("/mcp") && c.handles_path("/mcp/x") && !c.handles_path("/mcpx"));
        assert_eq!(
            (c.deny_reply, c.reply_format, c.rug_pull, c.error_code),
            (
                DenyReply::ToolError,
                ReplyFormat::Auto,
                Removal::Remove,
                -32001
            )
        );
        assert_eq!(
            c.result_action(DetectionType::Injection),
            ResultAction::Block
        );
        assert_eq!(
            c.result_action(DetectionType::Credentials),
            ResultAction::Redact
        );
        assert_eq!(
            c.result_action(DetectionType::CodeSafety),
            ResultAction::Log
        );
        assert_eq!(
            c.endpoint("Files.Internal:8080", "files.internal").server,
            "files_internal"
        );
    }

    #[test]
    fn servers_are_found_by_authority_then_host() {
        let c = compile(
            r#"{"mcp": {"servers": [
                {"authority": "files.internal:8080", "name": "files",
                 "tools": {"run": {"operation": "delete"}},
                 "pinned_tool_hashes": {"read": "0000000000000000000000000000000000000000000000000000000000000000"}},
                {"authority": "mail.internal", "name": "mail"}],
               "tool_results": {"default": "log", "injection": "block"}}}"#,
        )
        .unwrap();
        let files = c.endpoint("FILES.internal:8080", "files.internal");
        assert_eq!(files.server, "files");
        assert_eq!(files.configured_operation("run"), Some(Operation::Delete));
        assert_eq!(files.configured_operation("other"), None);
        assert!(files.pin("read").is_some());
        assert_eq!(
            c.endpoint("files.internal:9999", "files.internal").server,
            "files_internal"
        );
        assert_eq!(
            c.endpoint("mail.internal:25", "mail.internal").server,
            "mail"
        );
        assert_eq!(c.result_action(DetectionType::Pii), ResultAction::Log);
        assert_eq!(
            c.result_action(DetectionType::Injection),
            ResultAction::Block
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        for (json, want) in [
            (r#"{"mcp": {"pathz": []}}"#, "mcp.pathz: unknown field"),
            (
                r#"{"mcp": {"deny_reply": "silence"}}"#,
                "mcp.deny_reply: unknown variant `silence`",
            ),
            (
                r#"{"mcp": {"servers": [{"authority": "a"}, {"name": "x"}]}}"#,
                "mcp.servers[1]: missing field `authority`",
            ),
            (
                r#"{"mcp": {"servers": [{"authority": "a", "tools": {"t": {"operation": "nuke"}}}]}}"#,
                "mcp.servers[0].tools.t.operation: unknown variant `nuke`",
            ),
            (
                r#"{"mcp": {"tool_results": {"secrets": "block"}}}"#,
                "mcp.tool_results.secrets: unknown field",
            ),
            (
                r#"{"mcp": {"paths": ["mcp"]}}"#,
                "mcp.paths[0]: expected a normalised path",
            ),
            (
                r#"{"mcp": {"paths": ["/a/../mcp"]}}"#,
                "mcp.paths[0]: expected a normalised path",
            ),
            (
                r#"{"mcp": {"paths": []}}"#,
                "mcp.paths: expected at least one",
            ),
            (
                r#"{"mcp": {"servers": [{"authority": "a", "name": "x.y"}]}}"#,
                "mcp.servers[0].name: expected letters",
            ),
            (
                r#"{"mcp": {"servers": [{"authority": "A"}, {"authority": "a"}]}}"#,
                "mcp.servers[1].authority: \"a\" is configured twice",
            ),
            (
                r#"{"mcp": {"servers": [{"authority": "a b"}]}}"#,
                "mcp.servers[0].authority: expected",
            ),
            (
                r#"{"mcp": {"servers": [{"authority": "a", "pinned_tool_hashes": {"t": "ABC"}}]}}"#,
                "mcp.servers[0].pinned_tool_hashes.t: expected 64",
            ),
            (
                r#"{"mcp": {"error_code": -32600}}"#,
                "mcp.error_code: expected an application error code",
            ),
            (r#"{"mcp": {"error_code": -32500}}"#, "mcp.error_code:"),
            (
                r#"{"mcp": {"max_depth": 0}}"#,
                "mcp.max_depth: expected 1 to 128",
            ),
            (
                r#"{"mcp": {"max_event_bytes": 10}}"#,
                "mcp.max_event_bytes: expected",
            ),
            (
                r#"{"mcp": {"max_remembered_tools": 0}}"#,
                "mcp.max_remembered_tools: expected",
            ),
        ] {
            let e = compile(json).err().unwrap_or_default();
            assert!(e.starts_with(want), "{json}\n  got: {e}\n want: {want}");
        }
        assert!(compile(r#"{"mcp": {"error_code": -32050}}"#).is_ok());
        assert!(compile(r#"{"mcp": {"error_code": 1001}}"#).is_ok());
    }
}
