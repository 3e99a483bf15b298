//! authensor-filter: AI-agent safety enforced in the service mesh.
//!
//! The crate is a pure core (configuration, policy engine, decisions, audit, path handling) that talks to the
//! proxy only through [`host::Host`], plus a thin proxy-wasm adapter compiled for wasm32 only.
//! The native `authensor` command-line tool is built from the same core.

pub mod aegis;
pub mod audit;
pub mod config;
pub mod decision;
pub mod detection;
pub mod exchange;
pub mod host;
pub mod metrics;
pub mod path;
pub mod policy;
pub mod protocol;
pub mod request;
pub mod timefmt;

#[cfg(any(test, feature = "fake-host"))]
pub mod fake_host;

// The adapter is the proxy's entry point; unit tests compiled to wasm run without it.
#[cfg(all(target_arch = "wasm32", not(test)))]
mod abi;
#[cfg(all(target_arch = "wasm32", not(test)))]
mod adapter;
