//! Open figures: the published benchmark figures of one universe (model, version, year) as one
//! table for analysts, with its data dictionary, encoded as CSV or Parquet in memory.
//!
//! Only what a release publishes goes in, exactly as `QueryBenchmark` answers it: each published
//! group's level and key, its number of firms, its share of synthetic contributions, the
//! distributions of its metrics (n, mean, sd, p10 to p90), its stage shares, the shares of its
//! fit verdicts and its pay figures (the cells disclosure control lets out). Nothing below the threshold k is a release, so nothing below k can be here; the members' values (the ranks the
//! server keeps to place a firm among its peers) are not published and not exported.
//!
//! The table is long ("tidy"): one row per group, measure and statistic, one number per row, so
//! that a stock tool filters and pivots it without knowing the model's metrics in advance.

use std::sync::Arc;

/// A metric's distribution among a published group's members: the one the publication rules
/// compute and the store keeps.
pub use domain_publication::Distribution;

/// Shares of a group's firms per stage 0..=4 of one axis.
#[derive(Clone, Debug, PartialEq)]
pub struct StageShares {
    /// `external` or `internal`.
    pub axis: String,
    /// Shares of stage 0..=4.
    pub shares: [f64; 5],
}

/// The share of a group's firms with one fit verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct FitShare {
    /// The verdict's id: `balanced`, `under_invested`, `over_invested` or `restrained`.
    pub verdict: String,
    /// Share of the group's firms, 0..1.
    pub share: f64,
}

/// One published cell of a group's pay figures: among its firms that answered both items on
/// returns, those reporting returns at least equal to the costs and those measuring them in money.
#[derive(Clone, Debug, PartialEq)]
pub struct PayFigure {
    /// `pay` (all answering firms), `pay_fit_` and a verdict, or `pay_external_stage_` or
    /// `pay_internal_stage_` and a band (`0_1`, `2`, `3_4`).
    pub measure: String,
    /// The cell's counts.
    pub cell: domain_publication::PayCell,
}

/// One published group.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// `section_size_province`, `section_size`, `section`, `size` or `all`.
    pub level: String,
    /// SBI section code; empty for any.
    pub sbi_section: String,
    /// Size class code; empty for any.
    pub size_class: String,
    /// Province code; empty for any.
    pub province: String,
    /// Distinct firms in the group.
    pub n: u32,
    /// Share of synthetic (demo) contributions, 0..1.
    pub synthetic_share: f64,
    /// The metrics' distributions.
    pub distributions: Vec<Distribution>,
    /// The stage shares per axis.
    pub stage_shares: Vec<StageShares>,
    /// The shares of the fit verdicts the model gives; empty when the release publishes none.
    pub fit_shares: Vec<FitShare>,
    /// The published cells of the pay figures; empty when none is published.
    pub pay: Vec<PayFigure>,
}

/// The published groups of one universe.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    /// The model's id.
    pub model_id: String,
    /// The model's version.
    pub model_version: u32,
    /// Benchmark year: the UTC year in which the assessments were completed.
    pub year: i32,
    /// The disclosure threshold in force.
    pub k: u32,
    /// Its groups, in the order they are to appear.
    pub groups: Vec<Group>,
}

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// A 32-bit integer.
    Integer,
    /// A 64-bit floating-point number.
    Number,
}

impl Kind {
    /// The name the data dictionary gives the kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Integer => "integer",
            Kind::Number => "number",
        }
    }
}

/// One column of the table: its name, kind and meaning in English and Dutch.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The column's name (CSV header, Parquet field).
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Its meaning in English.
    pub en: &'static str,
    /// Its meaning in Dutch.
    pub nl: &'static str,
}

/// The data dictionary: every column, in order.
pub const COLUMNS: [Column; 13] = [
    Column {
        name: "model_id",
        kind: Kind::Text,
        en: "The maturity model the figures were scored on.",
        nl: "Het volwassenheidsmodel waarop de cijfers gescoord zijn.",
    },
    Column {
        name: "model_version",
        kind: Kind::Integer,
        en: "The model's version; figures of different versions are not comparable.",
        nl: "De versie van het model; cijfers van verschillende versies zijn niet vergelijkbaar.",
    },
    Column { name: "year", kind: Kind::Integer, en: "The year assessed.", nl: "Het beoordeelde jaar." },
    Column {
        name: "k",
        kind: Kind::Integer,
        en: "The disclosure threshold in force: no group of fewer firms is published.",
        nl: "De geldende publicatiedrempel: geen groep van minder bedrijven wordt gepubliceerd.",
    },
    Column {
        name: "level",
        kind: Kind::Text,
        en: "The group's level: section_size_province, section_size, section, size or all.",
        nl: "Het niveau van de groep: section_size_province, section_size, section, size of all.",
    },
    Column {
        name: "sbi_section",
        kind: Kind::Text,
        en: "SBI 2008 section (A to U); empty: all sections.",
        nl: "SBI 2008-sectie (A tot en met U); leeg: alle secties.",
    },
    Column {
        name: "size_class",
        kind: Kind::Text,
        en: "Size class by persons employed (CBS): micro, small, medium or large; empty: all sizes.",
        nl: "Grootteklasse naar werkzame personen (CBS): micro, small, medium of large; leeg: alle groottes.",
    },
    Column {
        name: "province",
        kind: Kind::Text,
        en: "Province as its ISO 3166-2:NL code, such as NL-NH; empty: the whole country.",
        nl: "Provincie als ISO 3166-2:NL-code, zoals NL-NH; leeg: heel Nederland.",
    },
    Column {
        name: "group_n",
        kind: Kind::Integer,
        en: "Distinct firms in the group (at least k).",
        nl: "Aantal verschillende bedrijven in de groep (minstens k).",
    },
    Column {
        name: "synthetic_share",
        kind: Kind::Number,
        en: "Share of the group's contributions that are synthetic demo data, 0 to 1; above 0 the figures are not a measurement of real firms.",
        nl: "Aandeel van de bijdragen in de groep dat synthetische demonstratiedata is, 0 tot 1; boven 0 zijn de cijfers geen meting van echte bedrijven.",
    },
    Column {
        name: "measure",
        kind: Kind::Text,
        en: "What is measured: maturity_index, external_index, internal_index, proposition, a value source, external_stage_0 to _4 and internal_stage_0 to _4 (the stages of an axis), fit_ and a fit verdict (fit_balanced, fit_under_invested, fit_over_invested, fit_restrained), or pay: the firms that answered both items on returns, all (pay) or by fit verdict (pay_fit_balanced and so on) or by stage band of an axis (pay_external_stage_0_1, _2, _3_4 and the same for internal). A pay cell that disclosure control withholds has no rows.",
        nl: "Wat gemeten is: maturity_index, external_index, internal_index, proposition, een waardebron, external_stage_0 tot en met _4 en internal_stage_0 tot en met _4 (de fasen van een as), fit_ en een oordeel over de aansluiting (fit_balanced, fit_under_invested, fit_over_invested, fit_restrained), of pay: de bedrijven die beide vragen over de opbrengst beantwoordden, allemaal (pay) of naar oordeel over de aansluiting (pay_fit_balanced enzovoort) of naar fasegroep van een as (pay_external_stage_0_1, _2, _3_4 en hetzelfde voor internal). Een pay-cel die de publicatieregels afschermen, heeft geen rijen.",
    },
    Column {
        name: "statistic",
        kind: Kind::Text,
        en: "n (firms with a value), mean, sd (sample standard deviation), p10, p25, p50, p75, p90 (percentiles), share (of the group's firms at a stage or with a fit verdict), or for pay: answered (firms that answered both items), cover_costs_share (of them, the share reporting returns at least equal to the costs) and measured_share (the share measuring returns in money); no share without answering firms.",
        nl: "n (bedrijven met een waarde), mean (gemiddelde), sd (steekproefstandaardafwijking), p10, p25, p50, p75, p90 (percentielen), share (aandeel van de bedrijven in de groep in een fase of met een oordeel over de aansluiting), of bij pay: answered (bedrijven die beide vragen beantwoordden), cover_costs_share (het aandeel daarvan dat een opbrengst minstens gelijk aan de kosten meldt) en measured_share (het aandeel dat de opbrengst in geld meet); geen aandeel zonder antwoordende bedrijven.",
    },
    Column {
        name: "value",
        kind: Kind::Number,
        en: "The figure: indices and percentiles on 0 to 100, shares on 0 to 1.",
        nl: "Het cijfer: indices en percentielen op 0 tot 100, aandelen op 0 tot 1.",
    },
];

/// The statistics of a distribution, in the order they are written.
const STATISTICS: [&str; 8] = ["n", "mean", "sd", "p10", "p25", "p50", "p75", "p90"];

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row<'a> {
    /// The group it belongs to.
    pub group: &'a Group,
    /// What is measured (the `measure` column of `COLUMNS`).
    pub measure: String,
    /// Which statistic of it (the `statistic` column of `COLUMNS`).
    pub statistic: &'static str,
    /// The number.
    pub value: f64,
}

impl Release {
    /// The rows: per group (in order), each distribution's statistics, then the stage shares, then
    /// the fit verdicts' shares.
    pub fn rows(&self) -> Vec<Row<'_>> {
        let mut rows = Vec::new();
        for group in &self.groups {
            for d in &group.distributions {
                let [p10, p25, p50, p75, p90] = d.percentiles;
                let values = [f64::from(d.n), d.mean, d.sd, p10, p25, p50, p75, p90];
                for (statistic, value) in STATISTICS.into_iter().zip(values) {
                    rows.push(Row { group, measure: d.metric.clone(), statistic, value });
                }
            }
            for s in &group.stage_shares {
                for (stage, share) in s.shares.iter().enumerate() {
                    rows.push(Row {
                        group,
                        measure: format!("{}_stage_{stage}", s.axis),
                        statistic: "share",
                        value: *share,
                    });
                }
            }
            for f in &group.fit_shares {
                rows.push(Row { group, measure: format!("fit_{}", f.verdict), statistic: "share", value: f.share });
            }
            for p in &group.pay {
                let shares =
                    [("cover_costs_share", p.cell.cover_costs_share()), ("measured_share", p.cell.measured_share())];
                rows.push(Row {
                    group,
                    measure: p.measure.clone(),
                    statistic: "answered",
                    value: f64::from(p.cell.answered),
                });
                for (statistic, share) in shares {
                    if let Some(value) = share {
                        rows.push(Row { group, measure: p.measure.clone(), statistic, value });
                    }
                }
            }
        }
        rows
    }

    /// How many rows [`Release::rows`] gives, without building them.
    pub fn row_count(&self) -> usize {
        self.groups
            .iter()
            .map(|g| {
                let pay: usize = g.pay.iter().map(|p| if p.cell.answered > 0 { 3 } else { 1 }).sum();
                g.distributions.len() * STATISTICS.len() + g.stage_shares.len() * 5 + g.fit_shares.len() + pay
            })
            .sum()
    }

    /// The table as CSV (RFC 4180, a header line of the column names, `.` as the decimal mark;
    /// numbers in the shortest form that reads back to the same value).
    pub fn csv(&self) -> Result<Vec<u8>, String> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| format!("cannot write CSV: {e}");
        out.write_record(COLUMNS.iter().map(|c| c.name)).map_err(fail)?;
        for row in self.rows() {
            let g = row.group;
            out.write_record([
                self.model_id.as_str(),
                &self.model_version.to_string(),
                &self.year.to_string(),
                &self.k.to_string(),
                &g.level,
                &g.sbi_section,
                &g.size_class,
                &g.province,
                &g.n.to_string(),
                &g.synthetic_share.to_string(),
                &row.measure,
                row.statistic,
                &row.value.to_string(),
            ])
            .map_err(fail)?;
        }
        out.into_inner().map_err(|e| format!("cannot write CSV: {e}"))
    }

    /// The table as one Parquet file (one row group; every column required; the data dictionary,
    /// the model, the year and k in the file's key-value metadata).
    pub fn parquet(&self) -> Result<Vec<u8>, String> {
        use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type};
        use parquet::file::metadata::KeyValue;
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;

        let fail = |e: parquet::errors::ParquetError| format!("cannot write Parquet: {e}");
        let fields: Vec<String> = COLUMNS
            .iter()
            .map(|c| match c.kind {
                Kind::Text => format!("REQUIRED BYTE_ARRAY {} (UTF8);", c.name),
                Kind::Integer => format!("REQUIRED INT32 {};", c.name),
                Kind::Number => format!("REQUIRED DOUBLE {};", c.name),
            })
            .collect();
        let schema =
            parquet::schema::parser::parse_message_type(&format!("message open_figures {{ {} }}", fields.join(" ")))
                .map_err(fail)?;
        let mut metadata = vec![
            KeyValue::new("model_id".into(), self.model_id.clone()),
            KeyValue::new("model_version".into(), self.model_version.to_string()),
            KeyValue::new("year".into(), self.year.to_string()),
            KeyValue::new("k".into(), self.k.to_string()),
            KeyValue::new("note.en".into(), NOTE_EN.to_string()),
            KeyValue::new("note.nl".into(), NOTE_NL.to_string()),
        ];
        for c in &COLUMNS {
            metadata.push(KeyValue::new(format!("column.{}.en", c.name), c.en.to_string()));
            metadata.push(KeyValue::new(format!("column.{}.nl", c.name), c.nl.to_string()));
        }
        let properties = WriterProperties::builder()
            .set_created_by(concat!("maturity open figures ", env!("CARGO_PKG_VERSION")).to_string())
            .set_key_value_metadata(Some(metadata))
            .build();
        let rows = self.rows();
        let text = |f: &dyn Fn(&Row<'_>) -> String| -> Vec<ByteArray> {
            rows.iter().map(|r| ByteArray::from(f(r).as_str())).collect()
        };
        let int = |f: &dyn Fn(&Row<'_>) -> i64| -> Result<Vec<i32>, String> {
            rows.iter().map(|r| i32::try_from(f(r)).map_err(|_| "a number does not fit 32 bits".to_string())).collect()
        };
        let mut out = Vec::new();
        let mut writer = SerializedFileWriter::new(&mut out, Arc::new(schema), Arc::new(properties)).map_err(fail)?;
        let mut group = writer.next_row_group().map_err(fail)?;
        let mut index = 0;
        while let Some(mut column) = group.next_column().map_err(fail)? {
            let name = COLUMNS.get(index).map_or("", |c| c.name);
            match name {
                "model_id" | "level" | "sbi_section" | "size_class" | "province" | "measure" | "statistic" => {
                    let values = text(&|r: &Row<'_>| match name {
                        "model_id" => self.model_id.clone(),
                        "level" => r.group.level.clone(),
                        "sbi_section" => r.group.sbi_section.clone(),
                        "size_class" => r.group.size_class.clone(),
                        "province" => r.group.province.clone(),
                        "measure" => r.measure.clone(),
                        _ => r.statistic.to_string(),
                    });
                    column.typed::<ByteArrayType>().write_batch(&values, None, None).map_err(fail)?;
                }
                "model_version" | "year" | "k" | "group_n" => {
                    let values = int(&|r: &Row<'_>| match name {
                        "model_version" => i64::from(self.model_version),
                        "year" => i64::from(self.year),
                        "k" => i64::from(self.k),
                        _ => i64::from(r.group.n),
                    })?;
                    column.typed::<Int32Type>().write_batch(&values, None, None).map_err(fail)?;
                }
                "synthetic_share" | "value" => {
                    let values: Vec<f64> =
                        rows.iter().map(|r| if name == "value" { r.value } else { r.group.synthetic_share }).collect();
                    column.typed::<DoubleType>().write_batch(&values, None, None).map_err(fail)?;
                }
                other => return Err(format!("internal: no writer for the column `{other}`")),
            }
            column.close().map_err(fail)?;
            index += 1;
        }
        group.close().map_err(fail)?;
        writer.close().map_err(fail)?;
        Ok(out)
    }
}

/// What every export says about itself, in English.
pub const NOTE_EN: &str = "Published benchmark figures only: every group has at least k firms; groups below k are not published and not estimated. Where synthetic_share is above 0 the group holds synthetic demo data.";

/// The same in Dutch.
pub const NOTE_NL: &str = "Alleen gepubliceerde benchmarkcijfers: elke groep telt minstens k bedrijven; groepen onder k worden niet gepubliceerd en niet geschat. Waar synthetic_share boven 0 ligt, bevat de groep synthetische demonstratiedata.";

/// The data dictionary as CSV: column, kind, meaning in English and in Dutch.
pub fn dictionary_csv() -> Result<Vec<u8>, String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| format!("cannot write CSV: {e}");
    out.write_record(["column", "kind", "description_en", "description_nl"]).map_err(fail)?;
    for c in &COLUMNS {
        out.write_record([c.name, c.kind.name(), c.en, c.nl]).map_err(fail)?;
    }
    out.into_inner().map_err(|e| format!("cannot write CSV: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        let group = |level: &str, section: &str, n: u32, synthetic_share: f64| Group {
            level: level.into(),
            sbi_section: section.into(),
            size_class: String::new(),
            province: String::new(),
            n,
            synthetic_share,
            distributions: vec![Distribution {
                metric: "maturity_index".into(),
                n,
                mean: 41.25,
                sd: 0.1 + 0.2,
                percentiles: [10.0, 25.5, 40.0, 60.0, 1.0 / 3.0],
            }],
            stage_shares: vec![StageShares { axis: "external".into(), shares: [0.1, 0.2, 0.3, 0.25, 0.15] }],
            fit_shares: if section.is_empty() {
                vec![
                    FitShare { verdict: "balanced".into(), share: 0.75 },
                    FitShare { verdict: "restrained".into(), share: 0.25 },
                ]
            } else {
                Vec::new()
            },
            pay: if section.is_empty() {
                let cell =
                    |answered, cover_costs, measured| domain_publication::PayCell { answered, cover_costs, measured };
                vec![
                    PayFigure { measure: "pay".into(), cell: cell(40, 10, 4) },
                    PayFigure { measure: "pay_fit_restrained".into(), cell: cell(0, 0, 0) },
                ]
            } else {
                Vec::new()
            },
        };
        Release {
            model_id: "nl-social-business".into(),
            model_version: 2,
            year: 2025,
            k: 10,
            groups: vec![group("all", "", 2000, 1.0), group("section", "F", 12, 0.5)],
        }
    }

    #[test]
    fn one_row_per_group_measure_and_statistic() {
        let r = release();
        let rows = r.rows();
        assert_eq!(rows.len(), 2 * (8 + 5) + 2 + 4);
        assert_eq!(r.row_count(), rows.len());
        assert_eq!((rows[0].measure.as_str(), rows[0].statistic, rows[0].value), ("maturity_index", "n", 2000.0));
        assert_eq!((rows[7].statistic, rows[7].value), ("p90", 1.0 / 3.0));
        assert_eq!((rows[10].measure.as_str(), rows[10].statistic, rows[10].value), ("external_stage_2", "share", 0.3));
        assert_eq!((rows[14].measure.as_str(), rows[14].statistic, rows[14].value), ("fit_restrained", "share", 0.25));
        let pay: Vec<(&str, &str, f64)> =
            rows[15..19].iter().map(|r| (r.measure.as_str(), r.statistic, r.value)).collect();
        assert_eq!(
            pay,
            [
                ("pay", "answered", 40.0),
                ("pay", "cover_costs_share", 0.25),
                ("pay", "measured_share", 0.1),
                ("pay_fit_restrained", "answered", 0.0)
            ],
            "a cell without answering firms has no shares"
        );
        assert_eq!(rows[19].group.sbi_section, "F");
    }

    #[test]
    fn csv_has_the_dictionary_columns_and_exact_numbers() {
        let csv = String::from_utf8(release().csv().unwrap()).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header, COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>());
        assert_eq!(lines.next(), Some("nl-social-business,2,2025,10,all,,,,2000,1,maturity_index,n,2000"));
        let sd = csv.lines().find(|l| l.contains(",sd,")).unwrap();
        let value: f64 = sd.rsplit(',').next().unwrap().parse().unwrap();
        assert_eq!(value.to_bits(), (0.1f64 + 0.2).to_bits(), "the number reads back exactly");
        assert_eq!(csv.lines().count(), 1 + 32);
        assert!(csv.contains(",fit_balanced,share,0.75\n"), "{csv}");
    }

    #[test]
    fn parquet_reads_back_with_its_dictionary() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::record::RowAccessor;
        let r = release();
        let bytes = r.parquet().unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let meta = reader.metadata().file_metadata();
        assert_eq!(meta.num_rows(), 32);
        let schema: Vec<String> = meta.schema_descr().columns().iter().map(|c| c.name().to_string()).collect();
        assert_eq!(schema, COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>());
        let kv = meta.key_value_metadata().unwrap();
        let get = |k: &str| kv.iter().find(|e| e.key == k).and_then(|e| e.value.clone());
        assert_eq!(get("k").as_deref(), Some("10"));
        assert_eq!(get("column.synthetic_share.nl").as_deref(), Some(COLUMNS[9].nl));
        let rows: Vec<_> = reader.get_row_iter(None).unwrap().map(Result::unwrap).collect();
        let last = rows.last().unwrap().to_string();
        assert!(last.contains("sbi_section: \"F\"") && last.contains("value: 0.15"), "{last}");
        let p90 = rows[7].get_double(12).unwrap();
        assert_eq!(p90.to_bits(), (1.0f64 / 3.0).to_bits());
    }

    #[test]
    fn the_documentation_describes_every_column() {
        let doc = include_str!("../../../docs/open-figures.md");
        for c in &COLUMNS {
            let line = format!("| `{}` | {} | {} | {} |", c.name, c.kind.name(), c.en, c.nl);
            assert!(doc.contains(&line), "docs/open-figures.md lacks the line\n{line}");
        }
        let dictionary = String::from_utf8(dictionary_csv().unwrap()).unwrap();
        assert_eq!(dictionary.lines().count(), 1 + COLUMNS.len());
    }
}
