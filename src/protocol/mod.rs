//! Wire formats the filter understands beyond plain HTTP: server-sent events, JSON-RPC/MCP and
//! LLM provider APIs. Pure parsing and rendering; decisions live elsewhere.

pub mod llm;
pub mod mcp;
pub mod sse;
