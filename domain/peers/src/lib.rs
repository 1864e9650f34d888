//! Synthetic Dutch demo peers for the embedded default, until real assessments are imported.
//!
//! Every generated firm is *synthetic* and must be labelled so wherever it appears. The generator
//! is deterministic for a seed. Its shape:
//!
//! - **Who**: firm-years spread over 2013-2025 (more in later years), over SBI sections, size
//!   classes and provinces by the approximate shares in `mix` (assumptions, not official figures).
//! - **Whether they use social media at all**: exactly the share that `calibration` derives per
//!   section, size class and year from the CBS and Eurostat figures in
//!   `data/reference-figures.csv` (a copy of the figures the project was given, with their
//!   sources), allocated per cell rather than drawn, so that the shares hold to rounding.
//! - **How far they got**: answers to the real questionnaire drawn around a latent maturity that
//!   grows with the year and the size class, then scored by the real engine, so every demo result
//!   is one the engine could have produced. Non-users answer every practice item at the bottom of
//!   its scale (both axes at stage 0); users reach at least stage 1 on one axis.
//! - **Paths besides the ladder**: a few percent of users are social by nature (upper stages
//!   without the lower ones, proposition on social media) and some skipped one lower stage, so
//!   that the peer figures can show what the research found (shares and their basis in
//!   `docs/demo-peers.md`).

pub mod calibration;
mod generate;
pub mod mix;
pub mod reference;
mod rng;

pub use generate::{DemoFirm, GenerateError, Generator, generate};
pub use rng::SplitMix64;

/// The first and last year of the demo peers.
pub const YEARS: std::ops::RangeInclusive<u16> = 2013..=2025;
