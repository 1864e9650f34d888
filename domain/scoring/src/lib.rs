//! The scoring engine: a firm's answers in, a complete and explainable maturity result out.
//!
//! Implements the scoring rules of docs/method.md; every weight, threshold and rule comes from the
//! validated `domain_model::Model`. No I/O, no async, no wire types: adapters convert to and from
//! `Answer` and `Assessment`, and turn each `Problem` into a field violation.

pub mod actions;
pub mod edges;
mod engine;
mod input;
mod request;
mod result;

pub use actions::{Action, ActionKind, actions};
pub use edges::{Edges, Reading, edges};
pub use engine::score;
pub use input::{Answer, AnswerField, AnswerValue, FirmField, FirmInput, Location, Part, Problem};
pub use request::{Firm, Given, Refusal, Request, Scored, Value};
pub use result::*;
