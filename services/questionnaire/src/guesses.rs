//! How many unknown links each address has tried: a token bucket per address, so that guessing a
//! link's token is slow while the firm with its real link never meets the limit.

use std::net::IpAddr;

/// How many unknown links one address may try: `burst` at once, then `per_minute`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuessLimit {
    pub per_minute: f64,
    pub burst: f64,
}

/// The default: twenty unknown links at once, then one every three seconds.
pub const GUESS_LIMIT: GuessLimit = GuessLimit { per_minute: 20.0, burst: 20.0 };
/// Addresses remembered at most; past this the oldest memories are dropped all at once.
const MAX_ADDRESSES: usize = 65_536;

/// Unknown links tried per address: a token bucket each.
#[derive(Debug)]
pub struct Guesses {
    limit: GuessLimit,
    buckets: std::sync::Mutex<std::collections::HashMap<IpAddr, (f64, std::time::Instant)>>,
}

impl Guesses {
    /// Buckets of `limit`.
    pub fn new(limit: GuessLimit) -> Guesses {
        Guesses { limit, buckets: std::sync::Mutex::default() }
    }

    /// Whether `ip` may try a link now (it has a guess left).
    pub fn allowed(&self, ip: IpAddr) -> bool {
        let now = std::time::Instant::now();
        let Ok(buckets) = self.buckets.lock() else { return true };
        buckets.get(&ip).is_none_or(|(tokens, last)| self.refilled(*tokens, *last, now) >= 1.0)
    }

    fn refilled(&self, tokens: f64, last: std::time::Instant, now: std::time::Instant) -> f64 {
        (tokens + now.duration_since(last).as_secs_f64() * self.limit.per_minute / 60.0).min(self.limit.burst)
    }

    /// Counts an unknown link tried by `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = std::time::Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else { return };
        if buckets.len() >= MAX_ADDRESSES {
            buckets.clear();
        }
        let (burst, refill) = (self.limit.burst, |t, l| self.refilled(t, l, now));
        let (tokens, last) = buckets.entry(ip).or_insert((burst, now));
        *tokens = (refill(*tokens, *last) - 1.0).max(0.0);
        *last = now;
    }
}
