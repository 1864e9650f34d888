//! The publisher's rounds: the lease taken in turn with the submissions, the pending changes read,
//! each changed universe's mirror brought up to date and planned off the async workers, the plan
//! written in one fenced transaction, and the universe that submissions go to read ahead.

use super::*;

/// At most this many pending changes are taken into one round of publication.
const CHANGES_PER_ROUND: u64 = 200_000;

/// Of each model, the universe of its newest version's newest year, with its generation.
fn newest_universes(universes: Vec<(Universe, i64)>) -> Vec<(Universe, i64)> {
    let mut newest: BTreeMap<String, (Universe, i64)> = BTreeMap::new();
    for (u, generation) in universes {
        match newest.get(&u.model_id) {
            Some((n, _)) if (n.model_version, n.year) >= (u.model_version, u.year) => {}
            _ => {
                newest.insert(u.model_id.clone(), (u, generation));
            }
        }
    }
    newest.into_values().collect()
}

impl Benchmarks {
    /// One round of publication: takes (or renews) the lease, and if this server holds it,
    /// publishes every universe with pending changes.
    pub async fn publish_pending(&self) -> Result<Round, StoreError> {
        let mut mirrors = self.publishing.lock().await;
        let lease = micros(self.lease);
        let asked = std::time::Instant::now();
        let gate = lease_gate(&self.write_gate, &self.db).await;
        // The time the lease is taken at, after the wait for the gate.
        let now = now_us();
        let taken = store::claim_lease(&self.db, &self.holder, store::Claim::Take, now, now + lease).await?;
        drop(gate);
        let leasing = asked.elapsed();
        if !taken {
            mirrors.clear();
            return Ok(Round::default());
        }
        // Renewed while the round runs; the fence in `bump_generation` still stops a round whose
        // lease was lost all the same (a process paused past it).
        let _keeper = keep_lease(self.db.clone(), self.holder.clone(), self.lease);
        let mut round = Round { leader: true, leasing, ..Round::default() };
        let changes = store::pending_changes(&self.db, CHANGES_PER_ROUND).await?;
        let mut by_universe: BTreeMap<Universe, Vec<Change>> = BTreeMap::new();
        for change in changes {
            by_universe.entry(change.universe.clone()).or_default().push(change);
        }
        // A year outside the publishable years (one still to come, or before the first) is never
        // published, and what was published of it before is withdrawn: a universe this server
        // holds published figures of gets a round, changed or not (read from memory: no query
        // in every round for what is almost never there).
        let current_year = crate::time::year_of(now);
        let held_outside: Vec<Universe> = self.cache.read().map_or_else(
            |_| Vec::new(),
            |cache| {
                cache
                    .universes
                    .iter()
                    .filter(|(u, held)| !publishable_year(u.year, current_year) && !held.groups.is_empty())
                    .map(|(u, _)| u.clone())
                    .collect()
            },
        );
        for universe in held_outside {
            by_universe.entry(universe).or_default();
        }
        for (universe, changes) in by_universe {
            let started = std::time::Instant::now();
            let ids: Vec<i64> = changes.iter().map(|c| c.id).collect();
            // Read and planned outside the write lock: the contributions read now include every
            // change read above (they were committed before it). The mirror is taken out of the
            // map and put back only once its publication is committed: after a failure the next
            // round reads the universe whole.
            let (mirror, read) = self.mirror(&mut mirrors, &universe, &changes).await?;
            let existing =
                store::release_marks(&self.db, &universe.model_id, universe.model_version, universe.year).await?;
            // Planning is CPU work that grows with the groups republished: off the async workers.
            let (policy, year) = (self.policy, universe.year);
            let publishable = publishable_year(year, current_year);
            let (mut mirror, plan) = off_workers(move || {
                let none = Groups::default();
                let plan = publish::plan(policy, year, if publishable { &mirror.groups } else { &none }, existing);
                (mirror, plan)
            })
            .await?;
            let planned = std::time::Instant::now();
            let _gate = self.write_gate.lock().await;
            let gated = std::time::Instant::now();
            let tx = store::begin_write(&self.db).await?;
            let now = now_us();
            let Some(generation) = store::bump_generation(&tx, Some(&self.holder), now, now + lease).await? else {
                // The lease was lost (this process stalled past it): another publisher owns it now.
                tracing::warn!(holder = %self.holder, "publisher lease lost; leaving publication to its holder");
                mirrors.clear();
                return Ok(Round { leader: false, ..round });
            };
            publish::apply(&tx, &universe, &plan, generation, now).await?;
            store::delete_changes(&tx, &ids).await?;
            tx.commit().await?;
            round.reading += planned - started;
            round.waiting += gated - planned;
            round.writing += gated.elapsed();
            mirror.generation = generation;
            mirrors.insert(universe, mirror);
            let summary = plan.summary();
            round.universes += 1;
            round.changes += ids.len();
            round.read += read;
            round.groups.published += summary.published;
            round.groups.kept += summary.kept;
            round.groups.withdrawn += summary.withdrawn;
        }
        round.read_ahead = self.read_ahead(&mut mirrors).await?;
        Ok(round)
    }

    /// Reads ahead the mirror of each universe that submissions go to (of each model, its newest
    /// version's newest year that publication has marked) unless this publisher holds it as last
    /// published; returns the contributions read. Without it the first change after a start or a
    /// takeover would find no mirror, and that round would read the whole universe while
    /// submissions wait on the same cores: at national scale the costliest read a round makes
    /// (BENCHMARKS.md, national scale, "the publisher's read ahead").
    /// The generation is read before the contributions: one published in between makes the mirror
    /// stale and the next round reads the universe whole, as it would without this read.
    async fn read_ahead(&self, mirrors: &mut HashMap<Universe, Mirror>) -> Result<usize, StoreError> {
        let mut read = 0;
        for (universe, generation) in newest_universes(store::universes_since(&self.db, 0).await?) {
            if mirrors.get(&universe).is_some_and(|m| m.generation == generation) {
                continue;
            }
            let (mut mirror, count) = self.read_whole(&universe).await?;
            read += count;
            mirror.generation = generation;
            mirrors.insert(universe, mirror);
        }
        Ok(read)
    }

    /// The mirror of `universe` brought up to date with `changes`, and how many contributions that
    /// read: only the changed ones when this publisher's mirror is still the universe as last
    /// published (by this publisher), else all of them.
    async fn mirror(
        &self,
        mirrors: &mut HashMap<Universe, Mirror>,
        universe: &Universe,
        changes: &[Change],
    ) -> Result<(Mirror, usize), StoreError> {
        let held = mirrors.remove(universe);
        let named: Option<Vec<i64>> = changes.iter().map(|c| c.contribution).collect();
        if let (Some(mut mirror), Some(mut ids)) = (held, named)
            && store::universe_generation(&self.db, universe).await? == Some(mirror.generation)
        {
            ids.sort_unstable();
            ids.dedup();
            let read = store::members_by_id(&self.db, &ids).await?;
            let count = read.len();
            // Contributions are replaced, never deleted; one that is gone leaves the mirror too.
            for id in &ids {
                if let Some(was) = mirror.members.remove(id) {
                    mirror.groups.remove(&was);
                }
            }
            for m in read {
                mirror.groups.add(&m);
                mirror.members.insert(m.id, m);
            }
            return Ok((mirror, count));
        }
        self.read_whole(universe).await
    }

    /// The mirror of `universe` from a read of all its contributions, and how many that read.
    async fn read_whole(&self, universe: &Universe) -> Result<(Mirror, usize), StoreError> {
        let rows = store::members(&self.db, &universe.model_id, universe.model_version, universe.year).await?;
        let count = rows.len();
        // Counting a national universe into its tallies takes seconds: off the async workers.
        let mirror = off_workers(move || Mirror::of(rows)).await?;
        Ok((mirror, count))
    }
}

/// Renews `holder`'s lease every third of `lease` until dropped (or until the lease is lost).
fn keep_lease(db: DatabaseConnection, holder: String, lease: Duration) -> Keeper {
    Keeper(tokio::spawn(async move {
        let mut tick = tokio::time::interval(lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = now_us();
            match store::claim_lease(&db, &holder, store::Claim::Renew, now, now + micros(lease)).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(holder = %holder, "publisher lease lost during a round; its write will be refused");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "could not renew the publisher lease; trying again"),
            }
        }
    }))
}

/// On SQLite, the write gate, for the lease taken at a round's start: outside it that write meets
/// the submission writer in SQLite's busy handler, which polls with growing sleeps (up to 100 ms)
/// while the writer takes the lock back batch after batch, so that under full load a round can
/// wait long for its lease and the publication lag grows (BENCHMARKS.md, national scale, "the
/// lease in the write gate"). The renewals during a round stay outside it: they run beside the
/// round, and a gate held long (a start-up backfill) must not let the lease run out. On
/// PostgreSQL nothing: its writes wait on the row alone.
async fn lease_gate<'a>(
    gate: &'a tokio::sync::Mutex<()>,
    db: &DatabaseConnection,
) -> Option<tokio::sync::MutexGuard<'a, ()>> {
    if store::is_sqlite(db) { Some(gate.lock().await) } else { None }
}

/// The task renewing the lease during a round; stops it when dropped, whichever way the round ends.
struct Keeper(tokio::task::JoinHandle<()>);

impl Drop for Keeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `f` on the blocking pool; a panic in it goes on as the caller's panic, as if run inline.
async fn off_workers<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Ok(v),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // Only when the runtime shuts down under a round: nothing was written.
            Err(e) => Err(StoreError::Malformed(format!("publication stopped: {e}"))),
        },
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
