//! Is this request an LLM call, and in which format? Configured routes first (in order), then
//! the providers' standard paths. Only POST creates a completion; other methods on these paths
//! (listing, retrieving) are ordinary HTTP. The body confirms the shape: see [`super::request`].

use super::config::{LlmSettings, Route};
use super::{Api, Format, Provider};
use crate::path::has_segment_prefix;

/// Standard path endings, matched on the normalised path so that base paths in front of them
/// (`/openai/deployments/x/chat/completions`, `/api/v1/messages`) are recognised too.
const BUILTIN: [(&str, Provider, Api); 3] = [
    ("/chat/completions", Provider::OpenAi, Api::Chat),
    ("/v1/responses", Provider::OpenAi, Api::Responses),
    ("/v1/messages", Provider::Anthropic, Api::Messages),
];

/// The format of a request, from its method, host (without port, lower-case) and normalised path.
pub fn detect(settings: &LlmSettings, method: &str, host: &str, path: &str) -> Option<Format> {
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    if let Some(r) = settings
        .routes
        .iter()
        .find(|r| route_matches(r, host, path))
    {
        return Some(Format {
            provider: r.provider,
            api: r.api,
        });
    }
    if !settings.builtin_routes {
        return None;
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    BUILTIN
        .iter()
        .find(|(suffix, _, _)| path.ends_with(suffix))
        .map(|&(_, provider, api)| Format { provider, api })
}

fn route_matches(route: &Route, host: &str, path: &str) -> bool {
    let host_ok = match route.authority.as_deref() {
        None => true,
        Some(pattern) => match pattern.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == pattern,
        },
    };
    host_ok && has_segment_prefix(path, &route.path_prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::llm::config::{LlmConfig, RouteConfig};

    fn settings(routes: Vec<RouteConfig>, builtin_routes: bool) -> LlmSettings {
        LlmSettings::compile(LlmConfig {
            routes,
            builtin_routes,
            ..LlmConfig::default()
        })
        .unwrap()
    }

    fn route(authority: Option<&str>, prefix: &str, provider: Provider, api: Api) -> RouteConfig {
        RouteConfig {
            authority: authority.map(str::to_owned),
            path_prefix: prefix.into(),
            provider,
            api,
        }
    }

    #[test]
    fn standard_paths_are_recognised_for_post_only() {
        let s = settings(vec![], true);
        let f = |m, p| detect(&s, m, "api.openai.com", p).map(Format::action_type);
        assert_eq!(
            f("POST", "/v1/chat/completions").as_deref(),
            Some("llm.openai.chat")
        );
        assert_eq!(
            f("POST", "/v1/responses").as_deref(),
            Some("llm.openai.responses")
        );
        assert_eq!(
            f("POST", "/v1/messages/").as_deref(),
            Some("llm.anthropic.messages")
        );
        assert_eq!(
            f("POST", "/openai/deployments/gpt/chat/completions").as_deref(),
            Some("llm.openai.chat")
        );
        assert_eq!(f("GET", "/v1/chat/completions"), None);
        assert_eq!(f("POST", "/v1/responses/resp_1/cancel"), None);
        assert_eq!(f("POST", "/v1/messages/count_tokens"), None);
        assert_eq!(f("POST", "/v1/embeddings"), None);
    }

    #[test]
    fn configured_routes_win_and_match_host_and_segment_prefix() {
        let s = settings(
            vec![
                route(
                    Some("*.corp.example"),
                    "/llm",
                    Provider::OpenAiCompatible,
                    Api::Chat,
                ),
                route(None, "/claude", Provider::Anthropic, Api::Messages),
            ],
            false,
        );
        let f = |h, p| detect(&s, "POST", h, p).map(Format::action_type);
        assert_eq!(
            f("vllm.corp.example", "/llm/v1/chat").as_deref(),
            Some("llm.openai_compatible.chat")
        );
        assert_eq!(
            f("corp.example", "/llm"),
            None,
            "the wildcard needs a subdomain"
        );
        assert_eq!(f("evilcorp.example", "/llm"), None);
        assert_eq!(f("vllm.corp.example", "/llmx"), None);
        assert_eq!(
            f("any", "/claude/v1/messages").as_deref(),
            Some("llm.anthropic.messages")
        );
        assert_eq!(
            f("any", "/v1/chat/completions"),
            None,
            "built-in routes are off"
        );
    }
}
