//! The stored encoding of a published group's figures (`domain_publication::Figures`): no API
//! message is stored, so the wire format (API v1, v2, ...) can change without touching stored
//! data.
//!
//! Stored as JSON with a version (`{"v":2,...}`): version 1 is the protobuf encoding of the API's
//! `PublishedFigures`, which migration m0008 re-encodes.

pub use domain_publication::{Distribution, Figures, PayCell, Ranks};

use crate::StoreError;

/// The encoding version written now.
pub const VERSION: u8 = 2;

/// Figures as the store keeps them.
pub trait Stored: Sized {
    /// The stored form.
    fn encode(&self) -> Vec<u8>;
    /// Reads the stored form; anything else (an older encoding, a damaged row) is an error.
    fn decode(bytes: &[u8]) -> Result<Self, StoreError>;
}

impl Stored for Figures {
    fn encode(&self) -> Vec<u8> {
        crate::versioned::encode(VERSION, self)
    }

    fn decode(bytes: &[u8]) -> Result<Figures, StoreError> {
        let f: Figures = crate::versioned::decode("published figures", VERSION, bytes)?;
        let ok = [&f.maturity, &f.external, &f.internal].iter().all(|r| r.check())
            && (f.stage_matrix.is_empty() || f.stage_matrix.len() == 25)
            && f.fit_verdicts.is_none_or(|v| f.maturity.n() == 0 || v.iter().sum::<u32>() == f.maturity.n())
            && f.pay.as_ref().is_none_or(|p| {
                let cells = std::iter::once(Some(&p.all)).chain(
                    p.by_verdict.iter().chain(&p.by_external_band).chain(&p.by_internal_band).map(Option::as_ref),
                );
                cells
                    .flatten()
                    .all(|c| c.cover_costs <= c.answered && c.measured <= c.answered && c.answered <= p.all.answered)
            });
        if !ok {
            return Err(StoreError::Malformed(
                "stored published figures: inconsistent ranks, stage matrix, verdict or pay counts".into(),
            ));
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct values one unit in the last place apart (as weighted means of 0.33 and 0.67
    /// produce) survive the stored encoding as distinct values.
    #[test]
    fn values_a_last_bit_apart_round_trip_exactly() {
        let a: f64 = 100.0 * (0.33 + 0.67 + 0.5) / 3.0;
        let values: Vec<f64> = (0..64).map(|i| f64::from_bits(a.to_bits() + i)).collect();
        let f = Figures { maturity: Ranks::of(&values), ..Figures::default() };
        let back = Figures::decode(&f.encode()).unwrap();
        assert_eq!(back.maturity.values, values);
    }

    #[test]
    fn round_trip_and_refusals() {
        let f = Figures {
            distributions: vec![Distribution {
                metric: "maturity_index".into(),
                n: 3,
                mean: 1.0 / 3.0,
                sd: 0.1,
                percentiles: [0.1, 0.2, 0.3, 0.4, 0.5],
            }],
            external_stages: Some([0.2, 0.2, 0.2, 0.2, 0.2]),
            internal_stages: None,
            stage_matrix: vec![1; 25],
            maturity: Ranks::of(&[1.0, 2.0, 2.0]),
            external: Ranks::of(&[0.1]),
            internal: Ranks::default(),
            fit_verdicts: Some([1, 1, 0, 1]),
            pay: Some(domain_publication::Pay {
                all: PayCell { answered: 3, cover_costs: 1, measured: 2 },
                by_verdict: [
                    Some(PayCell { answered: 3, cover_costs: 1, measured: 2 }),
                    Some(PayCell::default()),
                    None,
                    None,
                ],
                ..domain_publication::Pay::default()
            }),
        };
        let bytes = f.encode();
        assert_eq!(Figures::decode(&bytes).unwrap(), f);
        assert!(bytes.starts_with(b"{\"v\":2,"));
        // The protobuf encoding of version 1, another version, damage: errors, never a panic.
        assert!(Figures::decode(&[0x0a, 0x02, 0x08, 0x01]).is_err());
        assert!(Figures::decode(br#"{"v":3}"#).is_err());
        let mut broken = f.clone();
        broken.maturity.at_or_below = vec![2, 1];
        assert!(Figures::decode(&broken.encode()).is_err());
        // Verdict counts that do not add up to the members: damage.
        let mut broken = f.clone();
        broken.fit_verdicts = Some([1, 1, 1, 1]);
        assert!(Figures::decode(&broken.encode()).is_err());
        // Pay counts above the members who answered: damage.
        let mut broken = f.clone();
        broken.pay.as_mut().unwrap().all.measured = 4;
        assert!(Figures::decode(&broken.encode()).is_err());
        // Figures published before verdicts and pay figures were kept read back without them.
        let mut older = f.clone();
        older.fit_verdicts = None;
        older.pay = None;
        let text = String::from_utf8(older.encode()).unwrap();
        assert!(!text.contains("fit_verdicts") && !text.contains("pay"));
        assert_eq!(Figures::decode(text.as_bytes()).unwrap(), older);
        assert_eq!(f.fit_shares(), Some([1.0 / 3.0, 1.0 / 3.0, 0.0, 1.0 / 3.0]));
    }
}
