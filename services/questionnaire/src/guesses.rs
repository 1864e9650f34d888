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
/// Addresses remembered at most; past this, the addresses whose buckets have filled up again are
/// forgotten (they are as good as new), and if that is not enough, all of them.
const MAX_ADDRESSES: usize = 65_536;

/// The key of an address: an IPv6 address by its /64 (one network's worth of addresses is one
/// guesser), an IPv4 address as it is.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)),
        v4 => v4,
    }
}

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
        buckets.get(&key(ip)).is_none_or(|(tokens, last)| self.refilled(*tokens, *last, now) >= 1.0)
    }

    fn refilled(&self, tokens: f64, last: std::time::Instant, now: std::time::Instant) -> f64 {
        (tokens + now.duration_since(last).as_secs_f64() * self.limit.per_minute / 60.0).min(self.limit.burst)
    }

    /// Counts an unknown link tried by `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = std::time::Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else { return };
        if buckets.len() >= MAX_ADDRESSES {
            let burst = self.limit.burst;
            buckets.retain(|_, (tokens, last)| self.refilled(*tokens, *last, now) < burst);
            if buckets.len() >= MAX_ADDRESSES {
                buckets.clear();
            }
        }
        let (burst, refill) = (self.limit.burst, |t, l| self.refilled(t, l, now));
        let (tokens, last) = buckets.entry(key(ip)).or_insert((burst, now));
        *tokens = (refill(*tokens, *last) - 1.0).max(0.0);
        *last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_has_its_burst_and_a_v6_network_counts_as_one_guesser() {
        let g = Guesses::new(GuessLimit { per_minute: 0.0, burst: 3.0 });
        let a: IpAddr = "2001:db8:1:2::10".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::99".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::10".parse().unwrap();
        for _ in 0..2 {
            assert!(g.allowed(a));
            g.failed(a);
        }
        g.failed(b);
        assert!(!g.allowed(a) && !g.allowed(b), "one /64, one bucket");
        assert!(g.allowed(other) && g.allowed("192.0.2.1".parse().unwrap()));
    }
}
