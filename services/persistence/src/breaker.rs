//! A circuit breaker for the database, on the submission path. Submissions wait for the process's
//! writers (`service::writers`): one on SQLite, behind `Inner::write_lock`; two on PostgreSQL,
//! writing at once. Either way, while the database is down each batch holds its writer for the
//! pool's whole connection wait, so the queue stops moving and every caller in it would hang.
//! Instead, once a call has found the database unavailable, calls are refused at once (UNAVAILABLE,
//! retryable) and one call a second is let through to find out whether it is back; the first
//! success closes the breaker again.

use std::sync::atomic::{AtomicU64, Ordering};

/// How often, while the database is down, one call is let through to try it.
pub const PROBE_EVERY_MS: u64 = 1000;

/// Shared by the calls of one process. Times are milliseconds on any monotonic clock, passed in
/// (the service uses the time since it started), so that the rules can be tested without waiting.
#[derive(Debug, Default)]
pub struct Breaker {
    /// 0 while the database answers; otherwise when it was first found down (at least 1).
    down_since: AtomicU64,
    /// When a call was last let through to try the database while it was down.
    last_probe: AtomicU64,
}

impl Breaker {
    /// Whether a call arriving at `now` may try the database: always while it is up; while it is
    /// down, one call per `PROBE_EVERY_MS`.
    pub fn admit(&self, now: u64) -> bool {
        if self.down_since.load(Ordering::Acquire) == 0 {
            return true;
        }
        let last = self.last_probe.load(Ordering::Acquire);
        now.saturating_sub(last) >= PROBE_EVERY_MS
            && self.last_probe.compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Records what a call that tried the database found.
    pub fn record(&self, now: u64, available: bool) {
        if available {
            self.down_since.store(0, Ordering::Release);
        } else {
            // The probe clock starts now: the next try comes a full interval later.
            self.last_probe.fetch_max(now, Ordering::AcqRel);
            let _ = self.down_since.compare_exchange(0, now.max(1), Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// Whether the database was last found down.
    pub fn is_open(&self) -> bool {
        self.down_since.load(Ordering::Acquire) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_everything_through_until_a_failure_then_one_call_a_second() {
        let b = Breaker::default();
        assert!((0..100).all(|t| b.admit(t)), "closed: every call tries");
        b.record(5_000, false);
        assert!(b.is_open());
        assert!(!b.admit(5_001) && !b.admit(5_999), "refused at once after the failure");
        assert!(b.admit(6_000), "one probe a second later");
        assert!(!b.admit(6_000) && !b.admit(6_500), "only one probe per interval");
        b.record(6_800, false);
        assert!(!b.admit(7_000), "the interval restarts at the probe's failure");
        assert!(b.admit(7_800));
        b.record(7_900, true);
        assert!(!b.is_open());
        assert!((7_901..7_950).all(|t| b.admit(t)), "closed again by a success");
    }

    #[test]
    fn concurrent_callers_get_one_probe_between_them() {
        let b = std::sync::Arc::new(Breaker::default());
        b.record(10, false);
        let admitted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| (0..100).filter(|_| b.admit(1_500)).count())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(admitted, 1);
    }
}
