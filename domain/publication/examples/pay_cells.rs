//! What the pay figures' cell rules cost a publication of one universe: `plan` over synthetic
//! members spread over every section, size and province, once with every member's answers on
//! returns known and once with none (so that no pay cell exists), timed side by side.
//!
//! `cargo run --release -p domain-publication --example pay_cells -- [members] [k]`

use std::collections::BTreeMap;
use std::time::Instant;

use domain_anonymity::Policy;
use domain_model::{FirmProfile, FitVerdict, Province, Returns, SbiSection, SizeClass};
use domain_publication::{Groups, Member, plan};

/// A small deterministic generator (xorshift).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

fn members(n: usize, with_returns: bool) -> Vec<Member> {
    let mut dice = Dice(0x5ca1_ab1e_0000_0001);
    (0..n)
        .map(|id| {
            // Sections and provinces skewed as real firms are: a few large, many small.
            let skew = |dice: &mut Dice, len: usize| {
                let a = dice.roll(len as u64) as usize;
                let b = dice.roll(len as u64) as usize;
                a.min(b)
            };
            let profile = FirmProfile {
                section: SbiSection::ALL[skew(&mut dice, SbiSection::ALL.len())],
                size: SizeClass::ALL[skew(&mut dice, SizeClass::ALL.len())],
                province: Province::ALL[dice.roll(Province::ALL.len() as u64) as usize],
            };
            let grid = |dice: &mut Dice| dice.roll(400) as f64 / 4.0;
            Member {
                id: id as i64,
                profile,
                maturity_index: grid(&mut dice),
                external_index: grid(&mut dice),
                internal_index: grid(&mut dice),
                external_stage: dice.roll(5) as i16,
                internal_stage: dice.roll(5) as i16,
                value_sources: [Some(grid(&mut dice)), Some(grid(&mut dice)), None, Some(grid(&mut dice))],
                proposition: grid(&mut dice),
                fit_verdict: Some(FitVerdict::ALL[dice.roll(4) as usize]),
                returns: if with_returns && dice.roll(10) > 0 {
                    Returns { cover_costs: Some(dice.roll(3) == 0), measured: Some(dice.roll(5) == 0) }
                } else {
                    Returns::default()
                },
                synthetic: true,
                revision: 1,
            }
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let k: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let policy = match Policy::new(k) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pay_cells: {e}");
            std::process::exit(2);
        }
    };
    println!("{n} members, k = {k}");
    for with_returns in [false, true] {
        let members = members(n, with_returns);
        let groups = Groups::of(&members);
        let mut times = Vec::new();
        let mut puts = 0;
        let mut with_pay = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let decision = plan(policy, &groups, &BTreeMap::new());
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            puts = decision.puts.len();
            with_pay = decision.puts.iter().filter(|p| p.figures.pay.is_some()).count();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "answers on returns {}: plan of {puts} groups ({with_pay} with pay figures): median {:.1} ms of 3 (min {:.1}, max {:.1})",
            if with_returns { "known" } else { "unknown" },
            times[1],
            times[0],
            times[2]
        );
    }
}
