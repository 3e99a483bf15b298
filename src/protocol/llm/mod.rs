//! LLM provider APIs (OpenAI Chat Completions and Responses, Anthropic Messages, and servers that
//! copy the OpenAI shape): recognise a call, pull out every text with its role and JSON path,
//! rewrite texts in place, guard streamed answers event by event, and answer in the provider's
//! own error shape. Pure: no policy or scanner internals; scanners plug in through
//! [`scan::TextScanner`].

pub mod anthropic;
pub mod compression;
pub mod config;
pub mod detect;
pub mod edit;
pub mod errors;
pub mod json_path;
pub mod literal;
pub mod masking;
pub mod openai_chat;
pub mod openai_responses;
pub mod request;
pub mod response;
pub mod scan;
pub mod stream;

use serde::Deserialize;

use json_path::JsonPath;

/// Who serves the API, as named in action types (`llm.<provider>.<operation>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::OpenAiCompatible => "openai_compatible",
        }
    }
}

/// Which API (wire shape) a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    Chat,
    /// OpenAI Responses (`/v1/responses`).
    Responses,
    /// Anthropic Messages (`/v1/messages`).
    Messages,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Chat => "chat",
            Api::Responses => "responses",
            Api::Messages => "messages",
        }
    }
}

/// A recognised LLM call: who serves it and in which shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub provider: Provider,
    pub api: Api,
}

impl Format {
    /// The policy action type, e.g. `llm.openai.chat`, `llm.anthropic.messages`.
    pub fn action_type(self) -> String {
        format!("llm.{}.{}", self.provider.as_str(), self.api.as_str())
    }

    /// Errors and stream events follow Anthropic's shape for the Messages API, OpenAI's otherwise.
    pub fn speaks_anthropic(self) -> bool {
        self.api == Api::Messages
    }
}

/// The role a text plays in the conversation. Tool results fed back to the model are `Tool`,
/// whatever the provider calls them (OpenAI `tool`/`function` messages and `*_output` items,
/// Anthropic `tool_result` blocks): indirect prompt injection arrives there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// System and developer instructions, and tool definitions.
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    /// A role as the providers spell it in messages; unknown roles count as user input.
    pub fn from_wire(role: &str) -> Role {
        match role {
            "system" | "developer" => Role::System,
            "assistant" | "model" => Role::Assistant,
            "tool" | "function" | "ipython" => Role::Tool,
            _ => Role::User,
        }
    }
}

/// What kind of text an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Message content: prompts, completions, tool results, reasoning summaries.
    Content,
    /// Arguments of a tool call the model made (raw JSON text, or one string value inside it).
    ToolArguments,
    /// A tool's description or a string inside its parameter schema.
    ToolDefinition,
}

/// One string in a request or response body, with its role and where it sits.
#[derive(Debug, Clone, PartialEq)]
pub struct TextItem<'a> {
    pub role: Role,
    pub kind: TextKind,
    pub path: JsonPath<'a>,
    pub text: &'a str,
}

/// The body is not what the recognised API expects; the call is refused rather than passed
/// unscanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_types_name_provider_and_operation() {
        let f = |provider, api| Format { provider, api }.action_type();
        assert_eq!(f(Provider::OpenAi, Api::Chat), "llm.openai.chat");
        assert_eq!(
            f(Provider::Anthropic, Api::Messages),
            "llm.anthropic.messages"
        );
        assert_eq!(
            f(Provider::OpenAiCompatible, Api::Responses),
            "llm.openai_compatible.responses"
        );
    }

    #[test]
    fn wire_roles_fold_to_four() {
        assert_eq!(Role::from_wire("developer"), Role::System);
        assert_eq!(Role::from_wire("function"), Role::Tool);
        assert_eq!(Role::from_wire("assistant"), Role::Assistant);
        assert_eq!(Role::from_wire("anything-else"), Role::User);
    }
}
