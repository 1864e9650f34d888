//! Paging of the listing RPCs: one default and one maximum page size for every list, and page
//! tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Violation;

/// Items per page when the request leaves `page_size` at 0.
pub const DEFAULT_PAGE: u64 = 50;
/// The most items per page; a larger `page_size` is read as this.
pub const MAX_PAGE: u64 = 500;

/// The page size a request asks for (0: the default; above the maximum: the maximum); a negative
/// one is a violation of `page_size` (and is read as the default, so that the rest is checked).
pub fn page_size(requested: i32, violations: &mut Vec<Violation>) -> u64 {
    match u64::try_from(requested) {
        Ok(0) => DEFAULT_PAGE,
        Ok(n) => n.min(MAX_PAGE),
        Err(_) => {
            violations.push(Violation::new(
                "page_size",
                "INVALID_PAGE_SIZE",
                "page_size must not be negative",
                "page_size mag niet negatief zijn",
            ));
            DEFAULT_PAGE
        }
    }
}

/// Page tokens, opaque to the caller and signed over the tenant, the listing, its query and the
/// position, so that a token is good only for the next page of the listing that returned it: a
/// forged position, another tenant's token or a token of another query is refused. Every server
/// of a deployment derives the same key (from the pseudonym key), so a token outlives a restart
/// and works on every replica.
#[derive(Clone)]
pub struct PageTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens(..)")
    }
}

/// How many bytes of the signature a token carries: 128 bits.
const SIGNATURE_BYTES: usize = 16;

impl PageTokens {
    /// Tokens signed with a key derived from `secret` (a deployment's own secret, such as the
    /// pseudonym key): the key signs nothing else.
    pub fn derived(secret: &[u8]) -> PageTokens {
        let mut key = [0u8; 32];
        key.copy_from_slice(&Self::mac(secret, &[b"maturity page tokens v1"]).finalize().into_bytes());
        PageTokens { key }
    }

    fn mac(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
        // HMAC takes a key of any length; the fallback key is never used.
        let mut mac = Hmac::<Sha256>::new_from_slice(key)
            .unwrap_or_else(|_| <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default()));
        for part in parts {
            // Each part's length first, so that no two different lists of parts sign alike.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    fn signer(&self, tenant: &str, listing: &str, query: &str, position: &str) -> Hmac<Sha256> {
        Self::mac(&self.key, &[tenant.as_bytes(), listing.as_bytes(), query.as_bytes(), position.as_bytes()])
    }

    /// The token of the page after `position` of `tenant`'s `listing` with `query`.
    pub fn issue(&self, tenant: &str, listing: &str, query: &str, position: &str) -> String {
        let signature = self.signer(tenant, listing, query, position).finalize().into_bytes();
        format!("{}.{}", BASE64.encode(position), BASE64.encode(&signature[..SIGNATURE_BYTES]))
    }

    /// The position `token` carries, when this server issued it for `tenant`'s `listing` with
    /// `query` (the signature compared in constant time).
    pub fn open(&self, token: &str, tenant: &str, listing: &str, query: &str) -> Option<String> {
        let (position, signature) = token.split_once('.')?;
        let position = String::from_utf8(BASE64.decode(position).ok()?).ok()?;
        let signature = BASE64.decode(signature).ok()?;
        self.signer(tenant, listing, query, &position).verify_truncated_left(&signature).ok()?;
        (signature.len() == SIGNATURE_BYTES).then_some(position)
    }

    /// Cuts `rows`, fetched one more than `size` (the one more tells that a next page exists), to
    /// the page, and returns the token of the next page (empty on the last page): `position`
    /// names where the page's last row stands in `tenant`'s `listing` with `query`.
    pub fn next_page<T>(
        &self,
        rows: &mut Vec<T>,
        size: u64,
        (tenant, listing, query): (&str, &str, &str),
        position: impl FnOnce(&T) -> String,
    ) -> String {
        let more = rows.len() as u64 > size;
        rows.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        match (more, rows.last()) {
            (true, Some(last)) => self.issue(tenant, listing, query, &position(last)),
            _ => String::new(),
        }
    }

    /// The position of a request's `page_token` (`None` for none), or the violation
    /// `INVALID_PAGE_TOKEN` when it is not one this listing issued; `parse` reads the position.
    pub fn position<T>(
        &self,
        token: &str,
        (tenant, listing, query): (&str, &str, &str),
        parse: impl FnOnce(&str) -> Option<T>,
        violations: &mut Vec<Violation>,
    ) -> Option<T> {
        if token.is_empty() {
            return None;
        }
        let position = self.open(token, tenant, listing, query).and_then(|p| parse(&p));
        if position.is_none() {
            violations.push(Violation::new(
                "page_token",
                "INVALID_PAGE_TOKEN",
                "page_token is not one this listing returned (or the filters changed)",
                "page_token hoort niet bij deze lijst (of de filters zijn veranderd)",
            ));
        }
        position
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_for_its_tenant_listing_query_and_position() {
        let tokens = PageTokens::derived(b"secret");
        let token = tokens.issue("acme", "assessments", "q1", "104");
        assert_eq!(tokens.open(&token, "acme", "assessments", "q1").as_deref(), Some("104"));
        assert!(!token.contains("104"), "opaque: {token}");
        for (tenant, listing, query) in
            [("globex", "assessments", "q1"), ("acme", "events", "q1"), ("acme", "assessments", "q2")]
        {
            assert_eq!(tokens.open(&token, tenant, listing, query), None, "{tenant} {listing} {query}");
        }
        // A forged position with the signature of another: refused.
        let (_, signature) = token.split_once('.').unwrap();
        for forged in ["1000", "-1", "103", ""] {
            let token = format!("{}.{signature}", BASE64.encode(forged));
            assert_eq!(tokens.open(&token, "acme", "assessments", "q1"), None, "{forged}");
        }
        // Another deployment's key, a shortened signature, garbage: refused.
        assert_eq!(PageTokens::derived(b"other").open(&token, "acme", "assessments", "q1"), None);
        let short = &token[..token.len() - 2];
        assert_eq!(tokens.open(short, "acme", "assessments", "q1"), None);
        for garbage in ["", ".", "104", "104.", "!!.!!", "MTA0.AAAA"] {
            assert_eq!(tokens.open(garbage, "acme", "assessments", "q1"), None, "{garbage}");
        }
        // The request-side helper: no token is no position; a bad one is a violation.
        let mut v = Vec::new();
        let key = ("acme", "assessments", "q1");
        assert_eq!(tokens.position("", key, |p| p.parse::<i64>().ok(), &mut v), None);
        assert_eq!(tokens.position(&token, key, |p| p.parse::<i64>().ok(), &mut v), Some(104));
        assert!(v.is_empty());
        assert_eq!(tokens.position("MTA0.AAAA", key, |p| p.parse::<i64>().ok(), &mut v), None);
        assert_eq!(v[0].reason, "INVALID_PAGE_TOKEN");
    }

    #[test]
    fn the_next_page_token_is_given_only_when_a_row_more_than_the_page_was_fetched() {
        let tokens = PageTokens::derived(b"secret");
        let key = ("acme", "assessments", "q1");
        let mut rows = vec![9, 8, 7, 6];
        let token = tokens.next_page(&mut rows, 3, key, |last| last.to_string());
        assert_eq!(rows, [9, 8, 7]);
        assert_eq!(tokens.open(&token, "acme", "assessments", "q1").as_deref(), Some("7"));
        let mut last_page = vec![5, 4, 3];
        assert_eq!(tokens.next_page(&mut last_page, 3, key, |last| last.to_string()), "");
        assert_eq!(last_page, [5, 4, 3]);
        assert_eq!(tokens.next_page(&mut Vec::<i64>::new(), 3, key, |last| last.to_string()), "");
    }

    #[test]
    fn defaults_caps_and_refuses_negative_sizes() {
        let mut v = Vec::new();
        assert_eq!([0, 1, 499, 500, 501, i32::MAX].map(|n| page_size(n, &mut v)), [50, 1, 499, 500, 500, 500]);
        assert!(v.is_empty());
        assert_eq!(page_size(-1, &mut v), 50);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].field, "page_size");
    }
}
