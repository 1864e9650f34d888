//! What the publisher keeps of a universe between rounds, so that a round costs what changed
//! rather than the whole universe.

use std::collections::HashMap;

use crate::Member;
use crate::publish::Groups;

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
