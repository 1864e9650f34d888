//! What a published benchmark release holds, and which groups' figures go out (docs/method.md,
//! "Disclosure control"): a group's figures (`figures`), counted member by member
//! in tallies that the publisher keeps between rounds (`tally`), and the plan of one publication
//! under `domain-anonymity`'s rules (`plan`). Pure: the store reads the members and persists the
//! plan in its own encoding; the adapters convert the figures to their wire forms.

mod figures;
mod pay;
mod plan;
mod tally;

pub use figures::{Distribution, Figures, Ranks};
pub use pay::{BANDS, Pay, PayCell, band};
pub use plan::{Decision, Put, plan};
pub use tally::{Groups, METRICS, Member, Tally, figures};
