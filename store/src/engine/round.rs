//! A round of publication: what the publisher keeps of a universe between rounds (`Mirror`), so
//! that a round costs what changed rather than the whole universe, and what a round did (`Round`).

use std::collections::HashMap;
use std::time::Duration;

use crate::Member;
use crate::publish::{Groups, Published};

/// What the publisher holds of a universe between rounds.
#[derive(Debug)]
pub(super) struct Mirror {
    /// The generation this publisher gave the universe when it last published it.
    pub(super) generation: i64,
    /// Every contribution of the universe as of then (and the changes read since), by id: what a
    /// changed contribution was, to take it out of its groups' tallies.
    pub(super) members: HashMap<i64, Member>,
    /// The tallies of the universe's groups, kept with `members`.
    pub(super) groups: Groups,
}

impl Mirror {
    pub(super) fn of(members: Vec<Member>) -> Mirror {
        let groups = Groups::of(&members);
        Mirror { generation: 0, members: members.into_iter().map(|m| (m.id, m)).collect(), groups }
    }
}

/// What one round of publication did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Whether this server held the lease.
    pub leader: bool,
    /// Universes published.
    pub universes: usize,
    /// Changes taken into account.
    pub changes: usize,
    /// Contributions read from the store (all of a universe's when its mirror was read whole).
    pub read: usize,
    /// Contributions read ahead, into the mirror of a universe without changes this round that
    /// submissions go to (see `Benchmarks::read_ahead`).
    pub read_ahead: usize,
    /// Groups (re)published, kept, withdrawn.
    pub groups: Published,
    /// Time spent taking or renewing the lease at the round's start (on SQLite after the
    /// submissions before it in the write gate).
    pub leasing: Duration,
    /// Time spent reading and planning (outside the write gate).
    pub reading: Duration,
    /// Time spent waiting for the write gate (behind the submissions being written).
    pub waiting: Duration,
    /// Time spent writing, from the transaction's beginning through its commit.
    pub writing: Duration,
}
