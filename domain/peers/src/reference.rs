//! The published figures the demo peers are calibrated to: CBS StatLine and Eurostat shares of
//! Dutch enterprises using social media, by section, size and year, with their sources. The file
//! is a copy of the project's `reference-figures.csv`.

/// The figures file, embedded.
pub const CSV: &str = include_str!("../data/reference-figures.csv");

/// One row of the figures file.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Publisher (CBS StatLine, Eurostat, ...).
    pub source: String,
    /// Table id, when there is one.
    pub table: String,
    /// Year the figure describes.
    pub year: u16,
    /// The population, for example `enterprises 2-10 persons`.
    pub population: String,
    /// `total`, `sbi_section` or `size`.
    pub breakdown: String,
    /// The breakdown's key: `all`, a section letter (or `D-E`), a size band.
    pub key: String,
    /// What was measured, for example `uses social networks`.
    pub measure: String,
    /// The share, in percent.
    pub value_pct: f64,
}

/// A malformed figures file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("reference figures, line {line}: {message}")]
pub struct FigureError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses the figures file (a header line, then eight comma-separated fields per line; no field
/// contains a comma).
pub fn parse(text: &str) -> Result<Vec<Figure>, FigureError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| FigureError { line: i + 1, message };
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 8 {
            return Err(err(format!("expected 8 fields, found {}", f.len())));
        }
        out.push(Figure {
            source: f[0].to_string(),
            table: f[1].to_string(),
            year: f[2].parse().map_err(|_| err(format!("bad year `{}`", f[2])))?,
            population: f[3].to_string(),
            breakdown: f[4].to_string(),
            key: f[5].to_string(),
            measure: f[6].to_string(),
            value_pct: f[7].parse().map_err(|_| err(format!("bad percentage `{}`", f[7])))?,
        });
    }
    Ok(out)
}

/// The embedded figures.
pub fn figures() -> Result<Vec<Figure>, FigureError> {
    parse(CSV)
}
