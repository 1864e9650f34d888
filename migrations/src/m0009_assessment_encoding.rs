//! An assessment's answers and result in the store's own encoding. Version 1 stored the API's
//! messages (protobuf): the pinned `ScoreAssessmentRequest` and the Dutch `AssessmentResult`.
//! Version 2 is the store's own versioned JSON (`store::records`). `up` re-encodes every
//! assessment, `down` restores version 1. Both formats are frozen here as they were, so that this
//! migration never changes meaning when the API or the store's types move on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use crate::m0001_assessments::Assessments as A;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Version 1: `maturity.v1.ModelRef` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelRefV1 {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(uint32, tag = "2")]
    pub version: u32,
}

/// Version 1: `maturity.v1.FirmAttributes` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FirmV1 {
    #[prost(string, tag = "1")]
    pub sbi_section: String,
    #[prost(string, tag = "2")]
    pub size_class: String,
    #[prost(string, tag = "3")]
    pub province: String,
}

/// Version 1: `maturity.v1.ScoreAssessmentRequest` as it was (the pinned answers).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestV1 {
    #[prost(message, optional, tag = "1")]
    pub model: Option<ModelRefV1>,
    #[prost(message, optional, tag = "2")]
    pub firm: Option<FirmV1>,
    #[prost(message, repeated, tag = "3")]
    pub answers: Vec<AnswerV1>,
    #[prost(string, tag = "4")]
    pub locale: String,
}

/// Version 1: `maturity.v1.Answer` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnswerV1 {
    #[prost(string, tag = "1")]
    pub item_id: String,
    #[prost(oneof = "ValueV1", tags = "2, 3, 4, 5")]
    pub value: Option<ValueV1>,
}

/// Version 1: the `value` of `maturity.v1.Answer`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ValueV1 {
    #[prost(uint32, tag = "2")]
    Likert(u32),
    #[prost(bool, tag = "3")]
    Yes(bool),
    #[prost(string, tag = "4")]
    Choice(String),
    #[prost(bool, tag = "5")]
    DontKnow(bool),
}

/// Version 1: `maturity.v1.AssessmentResult` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResultV1 {
    #[prost(message, optional, tag = "1")]
    pub model: Option<ModelRefV1>,
    #[prost(string, tag = "2")]
    pub locale: String,
    #[prost(message, optional, tag = "3")]
    pub firm: Option<FirmV1>,
    #[prost(message, optional, tag = "4")]
    pub external: Option<AxisV1>,
    #[prost(message, optional, tag = "5")]
    pub internal: Option<AxisV1>,
    #[prost(double, tag = "6")]
    pub maturity_index: f64,
    #[prost(message, repeated, tag = "7")]
    pub value_sources: Vec<DimensionV1>,
    #[prost(message, optional, tag = "8")]
    pub proposition: Option<PropositionV1>,
    #[prost(message, optional, tag = "9")]
    pub fit: Option<FitV1>,
    #[prost(message, optional, tag = "10")]
    pub archetype: Option<ClassV1>,
    #[prost(message, optional, tag = "11")]
    pub forrester: Option<ClassV1>,
    #[prost(message, optional, tag = "12")]
    pub altimeter: Option<ClassV1>,
    #[prost(message, repeated, tag = "13")]
    pub business_value: Vec<DimensionV1>,
    #[prost(message, optional, tag = "14")]
    pub answers: Option<CountsV1>,
}

/// Version 1: `maturity.v1.AxisResult` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AxisV1 {
    #[prost(string, tag = "1")]
    pub axis: String,
    #[prost(string, tag = "2")]
    pub label: String,
    #[prost(double, tag = "3")]
    pub index: f64,
    #[prost(uint32, tag = "4")]
    pub attained_stage: u32,
    #[prost(string, tag = "5")]
    pub attained_label: String,
    #[prost(message, repeated, tag = "6")]
    pub stages: Vec<StageV1>,
}

/// Version 1: `maturity.v1.StageResult` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StageV1 {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(uint32, tag = "2")]
    pub number: u32,
    #[prost(string, tag = "3")]
    pub label: String,
    #[prost(double, tag = "4")]
    pub capability: f64,
    #[prost(uint32, tag = "5")]
    pub items_total: u32,
    #[prost(uint32, tag = "6")]
    pub items_answered: u32,
    #[prost(bool, tag = "7")]
    pub insufficient_evidence: bool,
    #[prost(bool, tag = "8")]
    pub attained: bool,
    #[prost(bool, tag = "9")]
    pub skipped: bool,
}

/// Version 1: `maturity.v1.DimensionResult` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DimensionV1 {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub label: String,
    #[prost(double, optional, tag = "3")]
    pub score: Option<f64>,
    #[prost(uint32, tag = "4")]
    pub items_total: u32,
    #[prost(uint32, tag = "5")]
    pub items_answered: u32,
    #[prost(bool, tag = "6")]
    pub insufficient_evidence: bool,
}

/// Version 1: `maturity.v1.PropositionResult` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PropositionV1 {
    #[prost(double, tag = "1")]
    pub centrality: f64,
    #[prost(bool, tag = "2")]
    pub social_native: bool,
    #[prost(uint32, tag = "3")]
    pub items_total: u32,
    #[prost(uint32, tag = "4")]
    pub items_answered: u32,
    #[prost(bool, tag = "5")]
    pub insufficient_evidence: bool,
}

/// Version 1: `maturity.v1.FitResult` as it was (the verdict is the enum's number).
#[derive(Clone, PartialEq, prost::Message)]
pub struct FitV1 {
    #[prost(double, tag = "1")]
    pub target: f64,
    #[prost(double, tag = "2")]
    pub gap: f64,
    #[prost(int32, tag = "3")]
    pub verdict: i32,
    #[prost(string, tag = "4")]
    pub label: String,
    #[prost(string, tag = "5")]
    pub description: String,
}

/// Version 1: `maturity.v1.Classification` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ClassV1 {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub label: String,
    #[prost(string, tag = "3")]
    pub description: String,
}

/// Version 1: `maturity.v1.AnswerCounts` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CountsV1 {
    #[prost(uint32, tag = "1")]
    pub items_in_model: u32,
    #[prost(uint32, tag = "2")]
    pub answered: u32,
    #[prost(uint32, tag = "3")]
    pub dont_know: u32,
    #[prost(uint32, tag = "4")]
    pub unanswered: u32,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FirmV2 {
    sbi_section: String,
    size_class: String,
    province: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct AnswersV2 {
    v: u8,
    model_id: String,
    model_version: u32,
    firm: FirmV2,
    answers: Vec<AnswerV2>,
}

#[derive(Debug, Serialize, Deserialize)]
struct AnswerV2 {
    item: String,
    value: ValueV2,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ValueV2 {
    Likert(u32),
    Yes(bool),
    Choice(String),
    DontKnow,
    Missing,
}

#[derive(Debug, Serialize, Deserialize)]
struct ResultV2 {
    v: u8,
    model_id: String,
    model_version: u32,
    locale: String,
    firm: FirmV2,
    external: AxisV2,
    internal: AxisV2,
    maturity_index: f64,
    value_sources: Vec<DimensionV2>,
    proposition: PropositionV2,
    fit: FitV2,
    archetype: ClassV2,
    forrester: ClassV2,
    altimeter: ClassV2,
    business_value: Vec<DimensionV2>,
    counts: CountsV2,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AxisV2 {
    axis: String,
    label: String,
    index: f64,
    attained_stage: u32,
    attained_label: String,
    stages: Vec<StageV2>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StageV2 {
    id: String,
    number: u32,
    label: String,
    capability: f64,
    items_total: u32,
    items_answered: u32,
    insufficient_evidence: bool,
    attained: bool,
    skipped: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct DimensionV2 {
    id: String,
    label: String,
    score: Option<f64>,
    items_total: u32,
    items_answered: u32,
    insufficient_evidence: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PropositionV2 {
    centrality: f64,
    social_native: bool,
    items_total: u32,
    items_answered: u32,
    insufficient_evidence: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FitV2 {
    target: f64,
    gap: f64,
    verdict: String,
    label: String,
    description: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ClassV2 {
    id: String,
    label: String,
    description: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CountsV2 {
    items_in_model: u32,
    answered: u32,
    dont_know: u32,
    unanswered: u32,
}

const VERDICTS: [&str; 4] = ["", "balanced", "under_invested", "over_invested"];

fn bad(what: &str, e: impl std::fmt::Display) -> DbErr {
    DbErr::Migration(format!("assessment {what}: {e}"))
}

fn firm_v2(f: Option<FirmV1>) -> FirmV2 {
    let f = f.unwrap_or_default();
    FirmV2 { sbi_section: f.sbi_section, size_class: f.size_class, province: f.province }
}

fn firm_v1(f: FirmV2) -> Option<FirmV1> {
    Some(FirmV1 { sbi_section: f.sbi_section, size_class: f.size_class, province: f.province })
}

/// Version 1 answers as version 2.
pub fn answers_v1_to_v2(bytes: &[u8]) -> Result<Vec<u8>, DbErr> {
    use prost::Message;
    let v1 = RequestV1::decode(bytes).map_err(|e| bad("answers (v1)", e))?;
    let model = v1.model.unwrap_or_default();
    let v2 = AnswersV2 {
        v: 2,
        model_id: model.id,
        model_version: model.version,
        firm: firm_v2(v1.firm),
        answers: v1
            .answers
            .into_iter()
            .map(|a| AnswerV2 {
                item: a.item_id,
                value: match a.value {
                    Some(ValueV1::Likert(n)) => ValueV2::Likert(n),
                    Some(ValueV1::Yes(b)) => ValueV2::Yes(b),
                    Some(ValueV1::Choice(c)) => ValueV2::Choice(c),
                    Some(ValueV1::DontKnow(_)) => ValueV2::DontKnow,
                    None => ValueV2::Missing,
                },
            })
            .collect(),
    };
    serde_json::to_vec(&v2).map_err(|e| bad("answers (v2)", e))
}

/// Version 2 answers as version 1.
pub fn answers_v2_to_v1(bytes: &[u8]) -> Result<Vec<u8>, DbErr> {
    use prost::Message;
    let v2: AnswersV2 = serde_json::from_slice(bytes).map_err(|e| bad("answers (v2)", e))?;
    let v1 = RequestV1 {
        model: Some(ModelRefV1 { id: v2.model_id, version: v2.model_version }),
        firm: firm_v1(v2.firm),
        answers: v2
            .answers
            .into_iter()
            .map(|a| AnswerV1 {
                item_id: a.item,
                value: match a.value {
                    ValueV2::Likert(n) => Some(ValueV1::Likert(n)),
                    ValueV2::Yes(b) => Some(ValueV1::Yes(b)),
                    ValueV2::Choice(c) => Some(ValueV1::Choice(c)),
                    ValueV2::DontKnow => Some(ValueV1::DontKnow(true)),
                    ValueV2::Missing => None,
                },
            })
            .collect(),
        locale: String::new(),
    };
    Ok(v1.encode_to_vec())
}

fn axis_v2(a: Option<AxisV1>) -> AxisV2 {
    let Some(a) = a else { return AxisV2::default() };
    AxisV2 {
        axis: a.axis,
        label: a.label,
        index: a.index,
        attained_stage: a.attained_stage,
        attained_label: a.attained_label,
        stages: a
            .stages
            .into_iter()
            .map(|s| StageV2 {
                id: s.id,
                number: s.number,
                label: s.label,
                capability: s.capability,
                items_total: s.items_total,
                items_answered: s.items_answered,
                insufficient_evidence: s.insufficient_evidence,
                attained: s.attained,
                skipped: s.skipped,
            })
            .collect(),
    }
}

fn axis_v1(a: AxisV2) -> Option<AxisV1> {
    Some(AxisV1 {
        axis: a.axis,
        label: a.label,
        index: a.index,
        attained_stage: a.attained_stage,
        attained_label: a.attained_label,
        stages: a
            .stages
            .into_iter()
            .map(|s| StageV1 {
                id: s.id,
                number: s.number,
                label: s.label,
                capability: s.capability,
                items_total: s.items_total,
                items_answered: s.items_answered,
                insufficient_evidence: s.insufficient_evidence,
                attained: s.attained,
                skipped: s.skipped,
            })
            .collect(),
    })
}

fn dimension_v2(d: DimensionV1) -> DimensionV2 {
    DimensionV2 {
        id: d.id,
        label: d.label,
        score: d.score,
        items_total: d.items_total,
        items_answered: d.items_answered,
        insufficient_evidence: d.insufficient_evidence,
    }
}

fn dimension_v1(d: DimensionV2) -> DimensionV1 {
    DimensionV1 {
        id: d.id,
        label: d.label,
        score: d.score,
        items_total: d.items_total,
        items_answered: d.items_answered,
        insufficient_evidence: d.insufficient_evidence,
    }
}

fn class_v2(c: Option<ClassV1>) -> ClassV2 {
    let c = c.unwrap_or_default();
    ClassV2 { id: c.id, label: c.label, description: c.description }
}

fn class_v1(c: ClassV2) -> Option<ClassV1> {
    Some(ClassV1 { id: c.id, label: c.label, description: c.description })
}

/// A version 1 result as version 2.
pub fn result_v1_to_v2(bytes: &[u8]) -> Result<Vec<u8>, DbErr> {
    use prost::Message;
    let v1 = ResultV1::decode(bytes).map_err(|e| bad("result (v1)", e))?;
    let model = v1.model.unwrap_or_default();
    let p = v1.proposition.unwrap_or_default();
    let fit = v1.fit.unwrap_or_default();
    let counts = v1.answers.unwrap_or_default();
    let v2 = ResultV2 {
        v: 2,
        model_id: model.id,
        model_version: model.version,
        locale: v1.locale,
        firm: firm_v2(v1.firm),
        external: axis_v2(v1.external),
        internal: axis_v2(v1.internal),
        maturity_index: v1.maturity_index,
        value_sources: v1.value_sources.into_iter().map(dimension_v2).collect(),
        proposition: PropositionV2 {
            centrality: p.centrality,
            social_native: p.social_native,
            items_total: p.items_total,
            items_answered: p.items_answered,
            insufficient_evidence: p.insufficient_evidence,
        },
        fit: FitV2 {
            target: fit.target,
            gap: fit.gap,
            verdict: String::from(
                <usize as TryFrom<i32>>::try_from(fit.verdict)
                    .ok()
                    .and_then(|i| VERDICTS.get(i).copied())
                    .unwrap_or(""),
            ),
            label: fit.label,
            description: fit.description,
        },
        archetype: class_v2(v1.archetype),
        forrester: class_v2(v1.forrester),
        altimeter: class_v2(v1.altimeter),
        business_value: v1.business_value.into_iter().map(dimension_v2).collect(),
        counts: CountsV2 {
            items_in_model: counts.items_in_model,
            answered: counts.answered,
            dont_know: counts.dont_know,
            unanswered: counts.unanswered,
        },
    };
    serde_json::to_vec(&v2).map_err(|e| bad("result (v2)", e))
}

/// A version 2 result as version 1.
pub fn result_v2_to_v1(bytes: &[u8]) -> Result<Vec<u8>, DbErr> {
    use prost::Message;
    let v2: ResultV2 = serde_json::from_slice(bytes).map_err(|e| bad("result (v2)", e))?;
    let verdict = VERDICTS.iter().position(|v| *v == v2.fit.verdict).unwrap_or(0);
    let v1 = ResultV1 {
        model: Some(ModelRefV1 { id: v2.model_id, version: v2.model_version }),
        locale: v2.locale,
        firm: firm_v1(v2.firm),
        external: axis_v1(v2.external),
        internal: axis_v1(v2.internal),
        maturity_index: v2.maturity_index,
        value_sources: v2.value_sources.into_iter().map(dimension_v1).collect(),
        proposition: Some(PropositionV1 {
            centrality: v2.proposition.centrality,
            social_native: v2.proposition.social_native,
            items_total: v2.proposition.items_total,
            items_answered: v2.proposition.items_answered,
            insufficient_evidence: v2.proposition.insufficient_evidence,
        }),
        fit: Some(FitV1 {
            target: v2.fit.target,
            gap: v2.fit.gap,
            verdict: <i32 as TryFrom<usize>>::try_from(verdict).unwrap_or(0),
            label: v2.fit.label,
            description: v2.fit.description,
        }),
        archetype: class_v1(v2.archetype),
        forrester: class_v1(v2.forrester),
        altimeter: class_v1(v2.altimeter),
        business_value: v2.business_value.into_iter().map(dimension_v1).collect(),
        answers: Some(CountsV1 {
            items_in_model: v2.counts.items_in_model,
            answered: v2.counts.answered,
            dont_know: v2.counts.dont_know,
            unanswered: v2.counts.unanswered,
        }),
    };
    Ok(v1.encode_to_vec())
}

type Convert = fn(&[u8]) -> Result<Vec<u8>, DbErr>;

/// Rows re-encoded per read (bounded memory at any number of assessments).
const PAGE: u64 = 500;

/// Re-encodes every assessment's answers and result, a page of ids at a time, skipping rows
/// already in the target form (JSON starts with `{`, protobuf of these messages never does).
async fn reencode(manager: &SchemaManager<'_>, to_json: bool, answers: Convert, result: Convert) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let mut after = i64::MIN;
    loop {
        let page = Query::select()
            .columns([A::Id, A::Answers, A::Result])
            .from(A::Table)
            .and_where(Expr::col(A::Id).gt(after))
            .order_by(A::Id, Order::Asc)
            .limit(PAGE)
            .to_owned();
        let rows = db.query_all(&page).await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = last.try_get("", "id")?;
        for row in rows {
            let id: i64 = row.try_get("", "id")?;
            let (a, r): (Vec<u8>, Vec<u8>) = (row.try_get("", "answers")?, row.try_get("", "result")?);
            if (a.first() == Some(&b'{')) == to_json {
                continue;
            }
            let update = Query::update()
                .table(A::Table)
                .value(A::Answers, answers(&a).map_err(|e| bad(&format!("{id}"), e))?)
                .value(A::Result, result(&r).map_err(|e| bad(&format!("{id}"), e))?)
                .and_where(Expr::col(A::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        reencode(manager, true, answers_v1_to_v2, result_v1_to_v2).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        reencode(manager, false, answers_v2_to_v1, result_v2_to_v1).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_v1() -> ResultV1 {
        let stage = |n: u32| StageV1 {
            id: format!("E{n}"),
            number: n,
            label: format!("Trede {n}"),
            capability: 12.5 * f64::from(n),
            items_total: 5,
            items_answered: 4,
            insufficient_evidence: n == 4,
            attained: n < 3,
            skipped: false,
        };
        let dimension = |id: &str, score: Option<f64>| DimensionV1 {
            id: id.into(),
            label: id.to_uppercase(),
            score,
            items_total: 3,
            items_answered: u32::from(score.is_some()) * 3,
            insufficient_evidence: score.is_none(),
        };
        let class = |id: &str| Some(ClassV1 { id: id.into(), label: format!("{id}!"), description: "d".into() });
        ResultV1 {
            model: Some(ModelRefV1 { id: "nl-social-business".into(), version: 1 }),
            locale: "nl".into(),
            firm: Some(FirmV1 { sbi_section: "J".into(), size_class: "small".into(), province: "NL-UT".into() }),
            external: Some(AxisV1 {
                axis: "external".into(),
                label: "Extern".into(),
                index: 41.25,
                attained_stage: 2,
                attained_label: "Reageren".into(),
                stages: (1..=4).map(stage).collect(),
            }),
            internal: None,
            maturity_index: 38.5,
            value_sources: vec![dimension("trust", Some(61.0)), dimension("cocreation", None)],
            proposition: Some(PropositionV1 {
                centrality: 35.0,
                social_native: true,
                items_total: 4,
                items_answered: 4,
                insufficient_evidence: false,
            }),
            fit: Some(FitV1 { target: 44.5, gap: -6.0, verdict: 2, label: "l".into(), description: "d".into() }),
            archetype: class("a"),
            forrester: class("f"),
            altimeter: class("x"),
            business_value: vec![dimension("revenue", Some(20.0))],
            answers: Some(CountsV1 { items_in_model: 60, answered: 50, dont_know: 6, unanswered: 4 }),
        }
    }

    #[test]
    fn answers_convert_both_ways_without_loss() {
        use prost::Message;
        let v1 = RequestV1 {
            model: Some(ModelRefV1 { id: "nl-social-business".into(), version: 1 }),
            firm: Some(FirmV1 { sbi_section: "J".into(), size_class: "small".into(), province: "NL-UT".into() }),
            answers: vec![
                AnswerV1 { item_id: "a".into(), value: Some(ValueV1::Likert(4)) },
                AnswerV1 { item_id: "b".into(), value: Some(ValueV1::Yes(false)) },
                AnswerV1 { item_id: "c".into(), value: Some(ValueV1::Choice("x".into())) },
                AnswerV1 { item_id: "d".into(), value: Some(ValueV1::DontKnow(true)) },
                AnswerV1 { item_id: "e".into(), value: None },
            ],
            locale: String::new(),
        };
        let v2 = answers_v1_to_v2(&v1.encode_to_vec()).unwrap();
        assert!(v2.starts_with(br#"{"v":2,"#), "{}", String::from_utf8_lossy(&v2));
        assert_eq!(RequestV1::decode(answers_v2_to_v1(&v2).unwrap().as_slice()).unwrap(), v1);
        assert!(answers_v1_to_v2(b"\xff\xff").is_err());
        assert!(answers_v2_to_v1(b"{not json").is_err());
    }

    #[test]
    fn results_convert_both_ways_without_loss_but_a_missing_axis() {
        use prost::Message;
        let v1 = result_v1();
        let v2 = result_v1_to_v2(&v1.encode_to_vec()).unwrap();
        assert!(v2.starts_with(br#"{"v":2,"#));
        let back = ResultV1::decode(result_v2_to_v1(&v2).unwrap().as_slice()).unwrap();
        // A result always has both axes; an absent one comes back empty rather than absent.
        assert_eq!(ResultV1 { internal: Some(AxisV1::default()), ..v1 }, back);
        assert!(result_v1_to_v2(b"\xff\xff").is_err());
    }
}
