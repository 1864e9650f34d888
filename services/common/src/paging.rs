//! Page sizes of the listing RPCs: one default and one maximum for every list.

use crate::errors::Violation;

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

#[cfg(test)]
mod tests {
    use super::*;

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
