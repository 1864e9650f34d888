//! The benchmark engine of a server: the publisher, out of the write path, and the in-memory cache
//! of published figures that every benchmark answer (and the peer position of a submission) is
//! read from.
//!
//! - A submission writes its contribution and a row in `benchmark_changes`, nothing more.
//! - The publisher (one per database at a time, by the lease in `benchmark_publisher`) wakes at
//!   most every `publish_interval`, reads the pending changes, and for each changed universe
//!   computes a plan outside any write transaction (`publish::plan`) and writes it in one short
//!   transaction that also bumps the store-wide generation, marks the universe with it and deletes
//!   exactly the changes it read.
//!   A publisher that dies mid-way leaves the previous release in force and its changes pending;
//!   the next lease holder publishes them. The lease is fenced: a publisher that lost it (paused
//!   past its expiry) writes nothing.
//! - The publisher keeps each universe it published in memory (its mirror: every contribution as
//!   publication reads it, and the tally of each group: its members' values counted by value, their
//!   stages, verdicts and revisions) and in the next round reads only the contributions the changes
//!   name, taking each out of its groups' tallies as it was and counting it in as it is now. The
//!   plan then reads the tallies, not the contributions, and computes the figures of only the
//!   groups it republishes, from their counted values.
//!   The mirror is read whole again when the universe was published by anyone else since (its
//!   generation in the store is not the one this publisher gave it: another publisher, demo
//!   seeding) or a change names no contribution (a step that changed many); so a round costs
//!   what changed, not the size of the universe. The universe that submissions go to (of each
//!   model, its newest version's newest year) is read ahead in the first round after a start or a
//!   takeover, so that the first change does not pay for that read while submissions wait.
//! - Every server polls the generation (one indexed single-row read) every `refresh_interval`
//!   and reloads exactly the universes published since its last look; of those it reads the
//!   stamps (watermark, time written) of every group and the figures only of the groups published
//!   anew, decoding each once. Answers then come from memory, with no database round trip.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use domain_anonymity::years::publishable_year;
use domain_anonymity::{GroupKey, Policy};
use domain_model::Model;
use sea_orm::DatabaseConnection;

use crate as store;
use crate::peers::{Found, Held};
use crate::publish::{self, Groups};
use crate::time::now_us;
use crate::{Change, StoreError, Universe};

mod publisher;
mod round;

use round::Mirror;
pub use round::Round;

/// How long the publisher's lease lasts without renewal, by default: another server takes over
/// this long after the publishing one died. While a round runs, the lease is renewed every third
/// of it, so a round may take longer than the lease (the first whole read of a national universe).
pub const LEASE: Duration = Duration::from_secs(5);

/// How often the engine publishes and refreshes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intervals {
    /// At most one round of publication this often (changes in between are coalesced).
    pub publish: Duration,
    /// The cache looks for new publications this often.
    pub refresh: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals { publish: Duration::from_secs(1), refresh: Duration::from_millis(200) }
    }
}

/// The published groups of one universe, decoded, and the stamp of each as read.
#[derive(Debug, Default)]
struct HeldUniverse {
    groups: HashMap<GroupKey, Arc<Held>>,
    stamps: HashMap<String, (store::Stamp, Option<Arc<Held>>)>,
}

impl HeldUniverse {
    fn insert(&mut self, release: &store::Release, stamp: store::Stamp) -> Result<(), StoreError> {
        let held = Held::decode(release)?.map(Arc::new);
        self.keep(&release.group_key, stamp, held.as_ref());
        Ok(())
    }

    fn keep(&mut self, key: &str, stamp: store::Stamp, held: Option<&Arc<Held>>) {
        if let Some(h) = held {
            self.groups.insert(h.group, Arc::clone(h));
        }
        self.stamps.insert(key.to_string(), (stamp, held.cloned()));
    }
}

#[derive(Debug, Default)]
struct Cache {
    generation: i64,
    universes: HashMap<Universe, Arc<HeldUniverse>>,
}

/// The engine of one server. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Benchmarks {
    db: DatabaseConnection,
    policy: Policy,
    holder: String,
    lease: Duration,
    cache: RwLock<Cache>,
    // SQLite has one writer: publications take the same in-process gate as submissions.
    write_gate: Arc<tokio::sync::Mutex<()>>,
    // One round and one refresh at a time (the loop and a caller's `sync` may meet); the round's
    // lock holds the publisher's mirrors.
    publishing: tokio::sync::Mutex<HashMap<Universe, Mirror>>,
    refreshing: tokio::sync::Mutex<()>,
}

/// What one refresh of a server's cache did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// The generation held now.
    pub generation: i64,
    /// Universes reloaded.
    pub universes: usize,
    /// Groups whose figures were read and decoded (those published anew since the last look, or
    /// every group of a universe read whole).
    pub decoded: usize,
}

impl Benchmarks {
    /// The engine over `db` under `policy`; `write_gate` serialises writers of this process.
    pub fn new(db: DatabaseConnection, policy: Policy, write_gate: Arc<tokio::sync::Mutex<()>>) -> Benchmarks {
        let holder = format!("{}-{}", std::process::id(), crate::random::chars(12).unwrap_or_default());
        Benchmarks {
            db,
            policy,
            holder,
            lease: LEASE,
            cache: RwLock::new(Cache::default()),
            write_gate,
            publishing: Default::default(),
            refreshing: Default::default(),
        }
    }

    /// The engine with a lease of `lease` instead of `LEASE` (at least a millisecond).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Benchmarks {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// Who this engine is when it holds the lease.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The generation the cache holds.
    pub fn generation(&self) -> i64 {
        self.cache.read().map(|c| c.generation).unwrap_or(0)
    }

    /// Reloads the universes published since the cache last looked.
    pub async fn refresh(&self) -> Result<Refreshed, StoreError> {
        let _one = self.refreshing.lock().await;
        let seen = self.generation();
        let current = store::generation(&self.db).await?;
        if current <= seen {
            return Ok(Refreshed { generation: seen, ..Refreshed::default() });
        }
        let mut loaded = Vec::new();
        let mut newest = current;
        let mut decoded = 0;
        for (universe, generation) in store::universes_since(&self.db, seen).await? {
            newest = newest.max(generation);
            let before = self.cache.read().ok().and_then(|c| c.universes.get(&universe).cloned());
            let (held, read) = self.reload(&universe, before.as_deref()).await?;
            decoded += read;
            loaded.push((universe, Arc::new(held)));
        }
        let universes = loaded.len();
        let mut cache = self.cache.write().map_err(|_| StoreError::Malformed("benchmark cache poisoned".into()))?;
        for (universe, held) in loaded {
            if held.groups.is_empty() {
                cache.universes.remove(&universe);
            } else {
                cache.universes.insert(universe, held);
            }
        }
        cache.generation = cache.generation.max(newest);
        Ok(Refreshed { generation: cache.generation, universes, decoded })
    }

    /// The published groups of `universe` now, reading and decoding only those published since
    /// `before` was read: the stamps of all its groups first, then the figures of the groups whose
    /// stamp is new. Should a publication land between the two reads (a figure read whose stamp is
    /// not the one just read), the universe is read whole, in one statement.
    async fn reload(
        &self,
        universe: &Universe,
        before: Option<&HeldUniverse>,
    ) -> Result<(HeldUniverse, usize), StoreError> {
        let mut held = HeldUniverse::default();
        if let Some(before) = before {
            let mut new: HashMap<String, store::Stamp> = HashMap::new();
            for (key, stamp) in store::release_stamps(&self.db, universe).await? {
                match before.stamps.get(&key) {
                    Some((was, h)) if *was == stamp => held.keep(&key, stamp, h.as_ref()),
                    _ => {
                        new.insert(key, stamp);
                    }
                }
            }
            let keys: Vec<String> = new.keys().cloned().collect();
            let rows = store::releases_stamped(&self.db, universe, Some(&keys)).await?;
            if rows.len() == new.len() && rows.iter().all(|(r, s)| new.get(&r.group_key) == Some(s)) {
                for (release, stamp) in &rows {
                    held.insert(release, *stamp)?;
                }
                return Ok((held, rows.len()));
            }
            held = HeldUniverse::default();
        }
        let rows = store::releases_stamped(&self.db, universe, None).await?;
        for (release, stamp) in &rows {
            held.insert(release, *stamp)?;
        }
        Ok((held, rows.len()))
    }

    /// Publishes what is pending (if this server may) and reloads: what a test or a command
    /// line calls to see its own submissions' effect at once.
    pub async fn sync(&self) -> Result<Round, StoreError> {
        let round = self.publish_pending().await?;
        self.refresh().await?;
        Ok(round)
    }

    /// Publishes and refreshes until `stop` resolves, then gives the lease up.
    pub async fn run(self: Arc<Self>, intervals: Intervals, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(intervals.refresh.min(intervals.publish));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_publish: Option<tokio::time::Instant> = None;
        loop {
            let now = tokio::select! {
                () = &mut stop => break,
                at = tick.tick() => at,
            };
            // Measured from tick to tick: a round begins a little after its tick, and measured from
            // then the tick one interval later found it not yet due and waited one more.
            if last_publish.is_none_or(|t| now.duration_since(t) >= intervals.publish) {
                last_publish = Some(now);
                match self.publish_pending().await {
                    Ok(r) if r.universes > 0 || r.read_ahead > 0 => tracing::info!(
                        universes = r.universes,
                        changes = r.changes,
                        read_ahead = r.read_ahead,
                        published = r.groups.published,
                        kept = r.groups.kept,
                        withdrawn = r.groups.withdrawn,
                        leasing_ms = r.leasing.as_millis(),
                        reading_ms = r.reading.as_millis(),
                        waiting_ms = r.waiting.as_millis(),
                        writing_ms = r.writing.as_millis(),
                        "published benchmark figures"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "publication failed; retrying at the next round"),
                }
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "benchmark cache refresh failed; answers stay at the last publication");
            }
        }
        if let Err(e) = store::release_lease(&self.db, &self.holder).await {
            tracing::warn!(error = %e, "could not give the publisher lease up; it expires by itself");
        }
    }

    fn universe(&self, model: &Model, year: i32) -> Option<Arc<HeldUniverse>> {
        let key = Universe { model_id: model.id.clone(), model_version: version(model), year };
        self.cache.read().ok()?.universes.get(&key).cloned()
    }

    /// The first published group of `requested`'s ladder in one universe, from memory.
    pub fn find(&self, model: &Model, year: i32, requested: &GroupKey) -> Option<Found> {
        let universe = self.universe(model, year)?;
        requested.ladder().iter().find_map(|g| {
            let held = universe.groups.get(g)?;
            Some(Found { held: Arc::clone(held), requested: *requested, year, requested_year: year })
        })
    }

    /// The peers of an assessment of `year`, from memory, as `peers::find` reads them from the
    /// store: the latest year of `year` and at most `years_back` before it that has a published
    /// group of `requested`'s ladder, and in it the narrowest such group.
    pub fn find_recent(&self, model: &Model, year: i32, requested: &GroupKey, years_back: u32) -> Option<Found> {
        crate::peers::candidate_years(year, years_back).find_map(|y| {
            let found = self.find(model, y, requested)?;
            Some(Found { requested_year: year, ..found })
        })
    }

    /// The years of `model` with a published national group, ascending.
    pub fn published_years(&self, model: &Model) -> Vec<i32> {
        let Ok(cache) = self.cache.read() else { return Vec::new() };
        let v = version(model);
        let mut years: Vec<i32> = cache
            .universes
            .iter()
            .filter(|(u, held)| {
                u.model_id == model.id && u.model_version == v && held.groups.contains_key(&GroupKey::default())
            })
            .map(|(u, _)| u.year)
            .collect();
        years.sort_unstable();
        years
    }

    /// Every published group of one universe, ordered by their stored keys.
    pub fn groups(&self, model: &Model, year: i32) -> Vec<Arc<Held>> {
        let Some(universe) = self.universe(model, year) else { return Vec::new() };
        let mut out: Vec<Arc<Held>> = universe.groups.values().cloned().collect();
        out.sort_by_cached_key(|h| publish::key_text(&h.group));
        out
    }
}

fn version(model: &Model) -> i32 {
    store::version_column(model.version)
}
