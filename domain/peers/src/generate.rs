//! Generating the demo firms.

use domain_model::{FirmProfile, Model, Province, SbiSection, ScaleKind, SizeClass, Target, model::Axis};
use domain_scoring::{Answer, AnswerValue, Assessment, FirmInput};

use crate::calibration::Targets;
use crate::mix;
use crate::rng::SplitMix64;

/// One synthetic firm-year, scored.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoFirm {
    /// A stable identity for this firm-year, unique within one generation.
    pub id: u64,
    /// Year of the assessment.
    pub year: u16,
    /// Coarse attributes.
    pub profile: FirmProfile,
    /// Whether the firm uses social media at all (the calibrated quantity).
    pub uses_social_media: bool,
    /// The result the engine gave its answers.
    pub result: Assessment,
}

/// Splits `total` over `weights` by the largest-remainder method, so that the parts sum to it.
fn allocate(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
    let missing = total - parts.iter().sum::<usize>();
    for i in order.into_iter().take(missing) {
        parts[i] += 1;
    }
    parts
}

/// Latent maturity (0..1) of a user firm.
fn latent(rng: &mut SplitMix64, section: SbiSection, size: SizeClass, year: u16) -> f64 {
    let size_bonus = match size {
        SizeClass::Micro => 0.0,
        SizeClass::Small => 0.05,
        SizeClass::Medium => 0.10,
        SizeClass::Large => 0.15,
    };
    let section_bonus = match section {
        SbiSection::G | SbiSection::I | SbiSection::J | SbiSection::M | SbiSection::R => 0.05,
        SbiSection::A | SbiSection::B | SbiSection::D | SbiSection::E | SbiSection::H | SbiSection::O => -0.05,
        _ => 0.0,
    };
    let mean = 0.30 + 0.02 * f64::from(year.saturating_sub(2013)) + size_bonus + section_bonus;
    (mean + rng.noise(0.15)).clamp(0.02, 0.98)
}

/// An answer to `item` at `level` (0 = bottom of its scale, 1 = top).
fn answer<'m>(model: &'m Model, item: &'m domain_model::Item, level: f64) -> Answer<'m> {
    let scale = model.scale_of(item);
    let last = scale.points.len() - 1;
    let point = &scale.points[((level.clamp(0.0, 1.0) * last as f64).round() as usize).min(last)];
    let value = match scale.kind {
        ScaleKind::Likert => AnswerValue::Likert(point.number.unwrap_or(1)),
        ScaleKind::YesNo => AnswerValue::Yes(point.value == "yes"),
        ScaleKind::Choice => AnswerValue::Choice(&point.value),
    };
    Answer { item_id: &item.id, value }
}

/// How a user firm's stages relate: the ladder most firms climb, or one of the paths the research
/// found besides it (shares in `docs/demo-peers.md`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pattern {
    /// Stages attained bottom up, around the latent maturity.
    Ladder,
    /// Built on social media: the proposition rests on it, the upper stages of both axes are
    /// practised and the lower ones are not (they were never needed).
    Native,
    /// Climbed past one lower stage of one axis without practising it.
    Skip(Axis, u8),
}

/// Share of user firms that are social by nature: "a few percent" (the research, docs/demo-peers.md); 3.5% here.
const NATIVE_SHARE: f64 = 0.035;
/// Share of user firms that skipped one lower stage on one axis: an assumption (no published
/// figure); 12% here.
const SKIP_SHARE: f64 = 0.12;

/// The answers of a firm: everything at the bottom for a non-user; around its latent maturity per
/// axis and stage for a user, along its pattern, with a few "don't know".
fn answers<'m>(
    model: &'m Model,
    rng: &mut SplitMix64,
    user: Option<(f64, f64, f64)>,
    pattern: Pattern,
) -> Vec<Answer<'m>> {
    model
        .items
        .iter()
        .map(|item| {
            let Some((ext, int, prop)) = user else { return answer(model, item, 0.0) };
            if rng.unit() < 0.04 && model.scale_of(item).dont_know {
                return Answer { item_id: &item.id, value: AnswerValue::DontKnow };
            }
            let level = match item.evidence.first().map(|(t, _)| *t) {
                Some(Target::Stage(axis, s)) => match pattern {
                    Pattern::Native => {
                        if s >= 3 {
                            0.9 + rng.noise(0.1)
                        } else {
                            0.1 + rng.noise(0.1)
                        }
                    }
                    Pattern::Skip(skipped, stage) if skipped == axis && stage == s => 0.1 + rng.noise(0.1),
                    _ => {
                        let m = if axis == Axis::External { ext } else { int };
                        m * 5.0 - f64::from(s - 1) - 0.5 + rng.noise(0.35)
                    }
                },
                Some(Target::Proposition | Target::SocialNative) => prop + rng.noise(0.15),
                _ => (ext + int) / 2.0 + rng.noise(0.2),
            };
            if item.evidence.iter().any(|(t, _)| *t == Target::SocialNative) {
                // Few firms were founded on social media; more where the proposition leans on it.
                let founded = pattern == Pattern::Native || rng.unit() < prop * prop * 0.3;
                return answer(model, item, if founded { 1.0 } else { 0.0 });
            }
            answer(model, item, level)
        })
        .collect()
}

fn proposition_latent(rng: &mut SplitMix64, section: SbiSection) -> f64 {
    let base = match section {
        SbiSection::G | SbiSection::I | SbiSection::J | SbiSection::R => 0.40,
        SbiSection::M | SbiSection::N | SbiSection::S | SbiSection::K => 0.25,
        _ => 0.12,
    };
    (base + rng.noise(0.12)).clamp(0.0, 1.0)
}

/// Generates `n` synthetic firm-years, deterministically for `seed`, scored with `model`.
pub fn generate(model: &Model, targets: &Targets, n: usize, seed: u64) -> Result<Vec<DemoFirm>, GenerateError> {
    Generator::new(model, targets, n, seed).collect()
}

/// The firms of `generate`, one at a time and in the same order, so that a caller can write a
/// large generation in bounded memory.
#[derive(Debug)]
pub struct Generator<'a> {
    model: &'a Model,
    targets: &'a Targets,
    rng: SplitMix64,
    years: Vec<(u16, usize)>,
    year: usize,
    sections: Vec<usize>,
    section: usize,
    sizes: Vec<usize>,
    size: usize,
    // The current cell's firms still to come: whether each uses social media (shuffled).
    uses: std::vec::IntoIter<bool>,
    id: u64,
}

impl<'a> Generator<'a> {
    /// The generation of `n` firm-years for `seed` with `model`.
    pub fn new(model: &'a Model, targets: &'a Targets, n: usize, seed: u64) -> Generator<'a> {
        let years: Vec<u16> = crate::YEARS.collect();
        let per_year = allocate(n, &years.iter().map(|y| mix::year_weight(*y)).collect::<Vec<_>>());
        Generator {
            model,
            targets,
            rng: SplitMix64::new(seed),
            years: years.into_iter().zip(per_year).collect(),
            year: 0,
            sections: Vec::new(),
            section: 0,
            sizes: Vec::new(),
            size: 0,
            uses: Vec::new().into_iter(),
            id: 0,
        }
    }

    /// Moves to the next cell (year, section, size) and draws which of its firms use social media;
    /// `false` when every cell is done.
    fn next_cell(&mut self) -> bool {
        loop {
            if self.year >= self.years.len() {
                return false;
            }
            if self.sections.is_empty() {
                self.sections = allocate(self.years[self.year].1, &mix::SECTION_WEIGHTS);
                self.section = 0;
                self.sizes.clear();
            }
            if self.section >= self.sections.len() {
                self.year += 1;
                self.sections.clear();
                continue;
            }
            if self.sizes.is_empty() {
                self.sizes = allocate(self.sections[self.section], &mix::SIZE_WEIGHTS);
                self.size = 0;
            }
            if self.size >= self.sizes.len() {
                self.section += 1;
                self.sizes.clear();
                continue;
            }
            let (year, section, size) =
                (self.years[self.year].0, SbiSection::ALL[self.section], SizeClass::ALL[self.size]);
            let n_cell = self.sizes[self.size];
            let use_share = self.targets.use_pct(section, size, year) / 100.0;
            let users = (n_cell as f64 * use_share).round() as usize;
            let mut uses: Vec<bool> = (0..n_cell).map(|i| i < users).collect();
            self.rng.shuffle(&mut uses);
            self.uses = uses.into_iter();
            self.size += 1;
            return true;
        }
    }
}

impl Iterator for Generator<'_> {
    type Item = Result<DemoFirm, GenerateError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(uses_social_media) = self.uses.next() {
                // The cell just drawn: `size` already points past it.
                let (year, section, size) =
                    (self.years[self.year].0, SbiSection::ALL[self.section], SizeClass::ALL[self.size - 1]);
                let province = Province::ALL[self.rng.weighted(&mix::PROVINCE_WEIGHTS)];
                let profile = FirmProfile { section, size, province };
                let firm = score_firm(self.model, &mut self.rng, profile, year, uses_social_media)
                    .map(|result| DemoFirm { id: self.id, year, profile, uses_social_media, result });
                self.id += 1;
                return Some(firm);
            }
            if !self.next_cell() {
                return None;
            }
        }
    }
}

fn score_firm(
    model: &Model,
    rng: &mut SplitMix64,
    p: FirmProfile,
    year: u16,
    user: bool,
) -> Result<Assessment, GenerateError> {
    let firm = FirmInput { sbi_section: p.section.code(), size_class: p.size.code(), province: p.province.code() };
    let mut pattern = Pattern::Ladder;
    let mut latent_user = user.then(|| {
        let m = latent(rng, p.section, p.size, year);
        let mut ext = (m + rng.noise(0.08)).clamp(0.0, 1.0);
        let mut int = (m - 0.05 + rng.noise(0.08)).clamp(0.0, 1.0);
        let mut prop = proposition_latent(rng, p.section);
        let draw = rng.unit();
        if draw < NATIVE_SHARE {
            pattern = Pattern::Native;
            prop = (0.85 + rng.noise(0.08)).clamp(0.0, 1.0);
        } else if draw < NATIVE_SHARE + SKIP_SHARE {
            // Stage 1 or 2 of either axis, with the latent of that axis high enough that a stage
            // above it is attained.
            let axis = if rng.unit() < 0.5 { Axis::External } else { Axis::Internal };
            let stage = if rng.unit() < 0.5 { 1 } else { 2 };
            pattern = Pattern::Skip(axis, stage);
            let floor = (f64::from(stage) + 1.4) / 5.0;
            match axis {
                Axis::External => ext = ext.max(floor),
                Axis::Internal => int = int.max(floor),
            }
        }
        (ext, int, prop)
    });
    // A user must show some use: redraw a little higher until one axis reaches stage 1 (with the
    // shipped model a few rounds at most; a latent of 1 attains every stage).
    let mut refused = 0;
    for _ in 0..40 {
        let given = answers(model, rng, latent_user, pattern);
        // A draw with too many "don't know" is refused by the model's minimums: draw again.
        let Ok(result) = domain_scoring::score(model, firm, &given) else {
            refused += 1;
            continue;
        };
        if result.axes.iter().any(|a| a.attained_stage > 0) == user {
            return Ok(result);
        }
        latent_user = latent_user.map(|(e, i, p)| ((e + 0.05).min(1.0), (i + 0.05).min(1.0), p));
    }
    Err(if refused > 0 { GenerateError::Refused { attempts: refused } } else { GenerateError::NoUse })
}

/// Why demo peers could not be generated with a model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    /// The model refused the generated answer sets (a model whose minimums full answer sets miss).
    #[error("the model refused {attempts} generated answer sets for one firm")]
    Refused {
        /// How many sets it refused.
        attempts: usize,
    },
    /// The model never attains a stage, even with every answer at the top.
    #[error("the model attains no stage even with every answer at the top")]
    NoUse,
}
