//! MCP's Streamable HTTP transport, understood in both directions: strict JSON-RPC parsing, what
//! each message asks for and how policy names it, the filter's own answers, tool-list rewriting
//! with rug-pull memory, scannable text in results, streamed answers event by event, and the
//! `mcp` configuration section. Policy and scanning come in through [`gateway::Inspector`].

pub mod action;
pub mod config;
pub mod content;
#[cfg(test)]
mod fake_inspector;
pub mod gateway;
pub mod jsonrpc;
pub mod memory;
pub mod messages;
pub mod replies;
pub mod stream;
pub mod strict_json;
pub mod tools;
