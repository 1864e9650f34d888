//! Webhooks as the Standard Webhooks specification has them, with no I/O: the event types, the
//! retry schedule, the signature of a delivery, and which URLs may be endpoints. The outbox that
//! holds deliveries is the store's (`store::webhooks`); the dispatcher that sends them is
//! `services-persistence::dispatch`.
//!
//! A delivery is signed as the specification says: `webhook-id` is the event's id (the same on
//! every retry and replay), the signature is `v1,` and the base64 HMAC-SHA256 of
//! `{id}.{timestamp}.{body}` under the secret's bytes (the base64 after `whsec_`).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// SubmitAssessment stored a new assessment.
pub const ASSESSMENT_SCORED: &str = "assessment.scored";
/// The nightly batch wrote an assessment's chapter.
pub const CHAPTER_READY: &str = "chapter.ready";
/// A nightly batch ended (one event per tenant that had work in it).
pub const BATCH_FINISHED: &str = "batch.finished";
/// The firm first visited the link of a questionnaire's invitation.
pub const INVITATION_OPENED: &str = "invitation.opened";
/// Every event type, as endpoints subscribe to them.
pub const EVENT_TYPES: [&str; 4] = [ASSESSMENT_SCORED, CHAPTER_READY, BATCH_FINISHED, INVITATION_OPENED];

/// The waits after the first, second, ... failed attempt (the Standard Webhooks schedule): about
/// 28 hours from the first attempt to the last. Each is stretched or shrunk by up to `JITTER`.
pub const SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// Relative jitter of each wait, so that endpoints that failed together are not retried together.
pub const JITTER: f64 = 0.2;
/// The longest `Retry-After` honoured; a longer one is read as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How long the previous secret signs along after a rotation, unless the caller says otherwise.
pub const DEFAULT_ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// The longest overlap a caller may ask for.
pub const MAX_ROTATION_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);
/// Events (and their finished deliveries) older than this are removed.
pub const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// When the attempt after `attempts` failed ones is due, from `now_us`: the schedule's wait,
/// jittered by `jitter` (in -1..=1, scaled by `JITTER`), but never before `retry_after` asks;
/// `None` when the schedule is used up.
pub fn next_attempt_us(now_us: i64, attempts: u32, jitter: f64, retry_after: Option<Duration>) -> Option<i64> {
    let wait = SCHEDULE.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let factor = 1.0 + JITTER * jitter.clamp(-1.0, 1.0);
    let mut wait_us = (wait.as_micros() as f64 * factor) as i64;
    if let Some(asked) = retry_after {
        wait_us = Ord::max(wait_us, i64::try_from(asked.min(MAX_RETRY_AFTER).as_micros()).unwrap_or(i64::MAX));
    }
    Some(now_us.saturating_add(wait_us))
}

const SECRET_PREFIX: &str = "whsec_";

/// A signing secret from its bytes: `whsec_` and their base64.
pub fn secret(bytes: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", BASE64.encode(bytes))
}

/// The signature (`v1,...`) of a delivery under `secret`; `None` for a secret that is not
/// `whsec_` and base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = BASE64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// Where an endpoint URL points, read as the delivery's HTTP client reads it (the WHATWG URL
/// standard, the `url` crate reqwest uses): a host written as an address in any of the notations
/// that standard accepts (`127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`, a trailing dot) is
/// that address, so the guard judges exactly what the client would connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// `https`, or `http` (allowed to loopback only).
    pub https: bool,
    /// The host, normalised.
    pub host: Host,
    /// The port, defaulting by scheme.
    pub port: u16,
    /// The URL as the client will send it (normalised by the same parser).
    pub url: url::Url,
}

/// An endpoint's host, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A name to resolve: lower case, IDNA applied, without a trailing dot.
    Name(String),
    /// An address written in the URL: the client connects to it without resolving anything.
    Address(std::net::IpAddr),
}

impl Host {
    /// The host as a resolver or a message names it.
    pub fn text(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::Address(ip) => ip.to_string(),
        }
    }
}

/// Reads an endpoint URL; the error says why it cannot be one.
pub fn destination(url: &str) -> Result<Destination, &'static str> {
    if url.chars().count() > 2000 {
        return Err("the URL is longer than 2000 characters");
    }
    // The WHATWG parser forgives leading and trailing spaces and control characters, and drops
    // tabs and newlines inside; an endpoint is stored as given, so none of them is accepted.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL must not contain spaces or control characters");
    }
    // An IPv6 zone id (`[fe80::1%25eth0]`) names an interface of the server: never an endpoint.
    if url.contains('%') && url.split(['/', '?', '#']).nth(2).is_some_and(|authority| authority.contains('%')) {
        return Err("the URL's host must not carry a zone id or percent-encoding");
    }
    let parsed = url::Url::parse(url).map_err(|e| match e {
        url::ParseError::InvalidPort => "the URL's port is not a number from 1 to 65535",
        url::ParseError::RelativeUrlWithoutBase => "not a URL (it has no scheme)",
        url::ParseError::EmptyHost => "the URL has no host",
        url::ParseError::InvalidIpv4Address | url::ParseError::InvalidIpv6Address => "the URL's address is not valid",
        _ => "not a URL",
    })?;
    // The parser forgives `https:///h` and `https:\\h` (read as `https://h/`); an endpoint is
    // written as scheme, `://` and host.
    let written_host = url.split_once("://").map(|(_, rest)| rest);
    if written_host.is_none_or(|rest| rest.starts_with(['/', '\\']) || url.contains('\\')) {
        return Err("not a URL (write it as https://host/path)");
    }
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err("the URL must start with https://"),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the URL must not carry a user name or password");
    }
    let host = match parsed.host() {
        None => return Err("the URL has no host"),
        Some(url::Host::Ipv4(v4)) => Host::Address(v4.into()),
        Some(url::Host::Ipv6(v6)) => Host::Address(v6.into()),
        Some(url::Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            if name.is_empty() || name.ends_with('.') || name.starts_with('.') || name.contains("..") {
                return Err("the URL's host is not a valid name");
            }
            Host::Name(name.to_ascii_lowercase())
        }
    };
    let port = match parsed.port() {
        Some(0) => return Err("the URL's port is not a number from 1 to 65535"),
        Some(p) => p,
        None if https => 443,
        None => 80,
    };
    if !https && !is_loopback(&host) {
        return Err("use https (plain http only to a loopback address, for local development)");
    }
    Ok(Destination { https, host, port, url: parsed })
}

/// Why a URL cannot be an endpoint (see [`destination`]).
pub fn url_problem(url: &str) -> Option<&'static str> {
    destination(url).err()
}

/// Why webhooks may not be sent to `ip`, when they may not: an address inside the operator's
/// network or the machine itself (loopback, private, shared, link-local with the cloud metadata
/// service, unspecified, multicast, reserved). A tenant chooses the URL, so without this rule any
/// tenant could make the server call internal services and read the outcome from the delivery
/// records. IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64) are judged as IPv4.
/// Operators who run endpoints on their own network allow them with
/// `webhook_allow_private_networks`.
pub fn forbidden_address(ip: std::net::IpAddr) -> Option<&'static str> {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            let v4 = |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
            // The local-use NAT64 prefix (64:ff9b:1::/48) may carry the IPv4 address at any of
            // several offsets (RFC 6052): the whole prefix is refused.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
                return Some("a local-use NAT64 address");
            }
            // NAT64 (64:ff9b::/96), the deprecated IPv4-compatible form (::a.b.c.d) and SIIT's
            // IPv4-translated form (::ffff:0:a.b.c.d): the last 32 bits are the IPv4 address.
            if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
                || (s[0..6] == [0; 6] && s[6] != 0)
                || (s[0..4] == [0; 4] && s[4] == 0xffff && s[5] == 0)
            {
                return forbidden_v4(v4(s[6], s[7]));
            }
            // 6to4 (2002::/16): the IPv4 address of the relay's far side follows the prefix.
            if s[0] == 0x2002 {
                return forbidden_v4(v4(s[1], s[2]));
            }
            // Teredo (2001:0::/32): the server's IPv4 address, then the client's, inverted.
            if s[0] == 0x2001 && s[1] == 0 {
                return forbidden_v4(v4(s[2], s[3])).or_else(|| forbidden_v4(v4(!s[6], !s[7])));
            }
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("a private (unique local) address")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if s[0] & 0xffc0 == 0xfec0 {
                Some("a site-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("a documentation address")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(ip: std::net::Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (where cloud metadata services answer)")
    } else if a == 0 {
        Some("an unspecified address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("a protocol-assignment address")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("a benchmarking address")
    } else if ip.is_documentation() {
        Some("a documentation address")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("a multicast or reserved address")
    } else {
        None
    }
}

fn is_loopback(host: &Host) -> bool {
    match host {
        Host::Name(n) => n == "localhost",
        Host::Address(ip) => ip.is_loopback() || forbidden_address(*ip) == Some("a loopback address"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_specification_test_vector() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        assert_eq!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, b""), None, "the prefix is required");
        assert_eq!(sign("whsec_not base64!", "m", 1, b""), None);
    }

    #[test]
    fn secrets_are_well_formed() {
        let a = secret(&[7; 32]);
        assert_eq!(BASE64.decode(a.strip_prefix("whsec_").unwrap()).unwrap(), vec![7; 32]);
        assert!(sign(&a, "msg_x", 1, b"{}").is_some());
    }

    #[test]
    fn the_schedule_lasts_more_than_a_day_and_ends() {
        let total: Duration = SCHEDULE.iter().sum();
        assert!(total > Duration::from_secs(24 * 3600), "{total:?}");
        // Even with every wait shrunk by the full jitter.
        assert!(total.as_secs_f64() * (1.0 - JITTER) > 24.0 * 3600.0 * 0.9);
        let now = 1_000_000;
        assert_eq!(next_attempt_us(now, 0, 0.0, None), None, "attempt 0 is never a failure");
        assert_eq!(next_attempt_us(now, 1, 0.0, None), Some(now + 5_000_000));
        assert_eq!(next_attempt_us(now, 1, 1.0, None), Some(now + 6_000_000));
        assert_eq!(next_attempt_us(now, 1, -1.0, None), Some(now + 4_000_000));
        assert_eq!(next_attempt_us(now, 7, 0.0, None), Some(now + 36_000_000_000));
        assert_eq!(next_attempt_us(now, 8, 0.0, None), None, "eight attempts in all");
        // Retry-After is honoured when longer than the schedule's wait, and capped at a day.
        assert_eq!(next_attempt_us(now, 1, 0.0, Some(Duration::from_secs(60))), Some(now + 60_000_000));
        assert_eq!(next_attempt_us(now, 1, 0.0, Some(Duration::from_secs(1))), Some(now + 5_000_000));
        assert_eq!(next_attempt_us(now, 1, 0.0, Some(Duration::from_secs(9_999_999))), Some(now + 86_400_000_000));
    }

    #[test]
    fn internal_addresses_are_forbidden_and_public_ones_are_not() {
        let judged = |a: &str| forbidden_address(a.parse().unwrap());
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(judged(internal).is_some(), "{internal} must be forbidden");
        }
        assert!(judged("169.254.169.254").unwrap().contains("metadata"));
        for public in [
            "93.184.216.34",
            "145.97.39.155",
            "172.32.0.1",
            "100.128.0.1",
            "2a00:1450:4001::200e",
            "::ffff:93.184.216.34",
        ] {
            assert_eq!(judged(public), None, "{public} is public");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(url_problem("https://crm.example.nl/hooks/maturity"), None);
        assert_eq!(url_problem("http://127.0.0.1:9000/h"), None);
        assert_eq!(url_problem("http://localhost/h"), None);
        assert_eq!(url_problem("http://[::1]:8000/h"), None);
        assert!(url_problem("http://crm.example.nl/h").is_some());
        assert!(url_problem("ftp://crm.example.nl/h").is_some());
        assert!(url_problem("https://user:pw@crm.example.nl/h").is_some());
        assert!(url_problem("https://user@crm.example.nl/h").is_some());
        assert!(url_problem("not a url").is_some());
        assert!(url_problem("/relative").is_some());
        assert!(url_problem(" https://crm.example.nl/h").is_some(), "stored as given, so no spaces");
        assert!(url_problem("https://crm.exa\tmple.nl/h").is_some(), "a tab the parser would drop");
        assert!(url_problem(&format!("https://a.nl/{}", "x".repeat(2000))).is_some());
        let d = |u: &str| destination(u).map(|d| (d.host, d.port));
        assert_eq!(d("https://CRM.Example.nl./h"), Ok((Host::Name("crm.example.nl".into()), 443)));
        assert_eq!(d("http://[::1]:8000/h"), Ok((Host::Address("::1".parse().unwrap()), 8000)));
        assert_eq!(d("http://localhost/h"), Ok((Host::Name("localhost".into()), 80)));
        assert!(d("/relative").is_err());
    }

    /// The bypass forms of the destination guard: each names its address in a notation the HTTP
    /// client reads as that address, and each is read here as the same address.
    #[test]
    fn every_notation_of_an_address_is_read_as_the_address() {
        let v4 = |s: &str| Host::Address(s.parse::<std::net::Ipv4Addr>().unwrap().into());
        for (url, host, port) in [
            ("https://127.0.0.1./", v4("127.0.0.1"), 443),
            ("https://10.0.0.1./", v4("10.0.0.1"), 443),
            ("https://169.254.169.254./latest/meta-data/", v4("169.254.169.254"), 443),
            ("https://127.1./", v4("127.0.0.1"), 443),
            ("https://127.1/", v4("127.0.0.1"), 443),
            ("https://0x7f000001./", v4("127.0.0.1"), 443),
            ("https://0X7F.1/", v4("127.0.0.1"), 443),
            ("https://2130706433./", v4("127.0.0.1"), 443),
            ("https://0177.0.0.1./", v4("127.0.0.1"), 443),
            ("https://192.168.0.1.:8443/", v4("192.168.0.1"), 8443),
            ("https://[::ffff:7f00:1]/", Host::Address("::ffff:127.0.0.1".parse().unwrap()), 443),
        ] {
            let read = destination(url).map(|d| (d.host, d.port));
            assert_eq!(read, Ok((host.clone(), port)), "{url}");
            let Host::Address(ip) = host else { unreachable!() };
            assert!(forbidden_address(ip).is_some(), "{url}");
        }
        // Names are normalised as the resolver will be asked them.
        assert_eq!(destination("https://LocalHost./").map(|d| d.host), Ok(Host::Name("localhost".into())));
    }

    #[test]
    fn zone_ids_and_impossible_ports_are_invalid_urls() {
        for url in [
            "https://[::1%25lo]/",
            "https://[fe80::1%25eth0]:8443/h",
            "https://[::1%lo]/",
            "https://crm.example.nl:0/h",
            "https://crm.example.nl:99999/h",
            "https://crm.example.nl:65536/h",
            "https://crm.example.nl:-1/h",
            "https://crm..example.nl/h",
            "https://./h",
            "https:///h",
            "https:\\\\127.0.0.1\\h",
            "https:/crm.example.nl/h",
        ] {
            assert!(url_problem(url).is_some(), "{url} must be refused");
        }
        assert_eq!(destination("https://crm.example.nl:65535/h").map(|d| d.port), Ok(65535));
    }

    #[test]
    fn ipv6_forms_that_embed_an_internal_ipv4_address_are_forbidden() {
        let judged = |a: &str| forbidden_address(a.parse().unwrap());
        for internal in [
            "2002:a9fe:a9fe::",                     // 6to4 of 169.254.169.254
            "2002:7f00:1::1",                       // 6to4 of 127.0.0.1
            "2002:c0a8:1::",                        // 6to4 of 192.168.0.1
            "64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
            "64:ff9b:1::a00:1",                     // local-use NAT64 of 10.0.0.1
            "64:ff9b:1:5db8:d822::",                // local-use NAT64, the IPv4 address at another offset
            "::ffff:0:7f00:1",                      // SIIT's IPv4-translated 127.0.0.1
            "fec0::1",                              // site-local
            "::7f00:1",                             // IPv4-compatible 127.0.0.1
            "::ffff:a00:1",                         // IPv4-mapped 10.0.0.1
            "2001:0:a9fe:a9fe::1",                  // Teredo, server 169.254.169.254
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1 (inverted)
        ] {
            assert!(judged(internal).is_some(), "{internal} must be forbidden");
        }
        for public in ["2002:5db8:d822::1", "64:ff9b::5db8:d822", "2001:0:4136:e378:8000:63bf:a247:d6dd"] {
            assert_eq!(judged(public), None, "{public} embeds a public address");
        }
    }
}
