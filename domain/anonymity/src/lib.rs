//! Disclosure control for the anonymised sector benchmarks (docs/method.md, "Disclosure control").
//!
//! Three rules, each a pure function here so that the storage layer only has to apply them:
//!
//! 1. **Threshold** (`Policy`): a group is published only with at least `k` distinct firms
//!    (default 10; a policy below 5 cannot be built).
//! 2. **Fallback ladder** (`GroupKey::ladder`): a request for a group that is not published is
//!    answered with the nearest wider group that is, in the documented order section × size ×
//!    province, section × size, section, size, the Netherlands.
//! 3. **No differencing** (`publishable`): only groups of the ladder's shapes are ever published,
//!    and for every parent group the firms not covered by its published children number 0 or at
//!    least `k` (secondary suppression), so that subtracting published groups from each other
//!    never isolates fewer than `k` firms. Over time, a published group's figures are replaced
//!    only when at least `k` of its contributions changed since they were computed
//!    (`republish`), so that comparing before and after one submission shows nothing.
//!
//! Besides, which years are published at all and which one is meant by default (`years`), so that
//! no tenant can move what every tenant sees by dating its assessments far ahead, and how many
//! years back a firm's peers may come from.

mod group;
mod plan;
pub mod years;

pub use group::{GroupKey, Level, Split, earlier_year_reason};
pub use plan::{Policy, PolicyError, Republish, publishable, publishable_without, republish};
