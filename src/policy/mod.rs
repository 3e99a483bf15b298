//! The policy engine: Authensor-format policies compiled once per VM and evaluated inline against
//! an action envelope, with rate limits, session rules and approval tokens kept in proxy shared
//! data. Pure core: reaches the proxy only through [`state::SharedStore`] (implemented for every
//! [`crate::host::Host`]).

pub mod aegis;
pub mod approval;
pub mod compile;
pub mod condition;
pub mod envelope;
pub mod evaluate;
pub mod field;
pub mod glob;
pub mod http;
pub mod jsregex;
pub mod lint;
pub mod model;
pub mod ratelimit;
pub mod session;
pub mod settings;
pub mod shadow;
pub mod state;

pub use compile::PolicyEngine;
pub use envelope::{Action, Context, Envelope, Operation, Principal};
pub use evaluate::{Request, Verdict};
