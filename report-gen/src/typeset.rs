//! Typst embedded as a library. The library and the fonts (compiled into the binary) are built
//! once and shared by every document and thread; each document gets a small `World` that serves
//! its main source and only the files the renderer hands it, and refuses everything else.

use std::collections::HashMap;
use std::path::PathBuf;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_kit::fonts::FontStore;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

/// Why a document could not be typeset.
#[derive(Debug, thiserror::Error)]
pub enum TypesetError {
    /// A file name given to the renderer is not a valid path.
    #[error("invalid file name {0}")]
    FileName(String),
    /// The date is not a calendar date.
    #[error("invalid date {0}-{1}-{2}")]
    Date(i32, u8, u8),
    /// Typst reported errors in the generated source, with their lines.
    #[error("typesetting failed:\n  {}", .0.join("\n  "))]
    Compile(Vec<String>),
    /// The PDF could not be written.
    #[error("PDF export failed:\n  {}", .0.join("\n  "))]
    Pdf(Vec<String>),
    /// A page could not be encoded as PNG.
    #[error("PNG export failed: {0}")]
    Png(String),
}

/// Font files that extend the embedded fonts (Latin, Greek and Cyrillic in Libertinus Serif) to
/// the other scripts a firm's name may be written in, looked up by name in the font directories:
/// Arabic and Hebrew (DejaVu Sans), Chinese, Japanese and Korean (Noto Sans CJK), and emoji (Noto
/// Color Emoji). Typst falls back to them for characters the text font lacks, and embeds only the
/// glyphs used (subset) in the PDF.
pub const SUPPLEMENTARY_FONTS: &[&str] =
    &["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "NotoColorEmoji.ttf"];

/// Where the supplementary fonts are looked for unless `MATURITY_FONT_DIRS` says otherwise: the
/// project's `fonts/` (what `make fonts` fills), then where Debian's packages put them.
pub const DEFAULT_FONT_DIRS: &[&str] =
    &["fonts", "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto"];

/// The environment variable naming the font directories (separated by `:`).
pub const FONT_DIRS_VAR: &str = "MATURITY_FONT_DIRS";

/// The shared library and fonts.
pub struct Typesetter {
    library: LazyHash<Library>,
    fonts: FontStore,
    supplementary: Vec<String>,
}

impl std::fmt::Debug for Typesetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typesetter").finish_non_exhaustive()
    }
}

impl Default for Typesetter {
    fn default() -> Self {
        Typesetter::new()
    }
}

struct Document<'a> {
    typesetter: &'a Typesetter,
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Datetime,
}

fn file_id(name: &str) -> Result<FileId, TypesetError> {
    let path = VirtualPath::new(name).map_err(|_| TypesetError::FileName(name.to_string()))?;
    Ok(FileId::new(RootedPath::new(VirtualRoot::Project, path)))
}

impl World for Document<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.typesetter.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        self.typesetter.fonts.book()
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::AccessDenied) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files.get(&id).cloned().ok_or(FileError::AccessDenied)
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.typesetter.fonts.font(index)
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

fn describe(world: &Document<'_>, diagnostics: &[SourceDiagnostic]) -> Vec<String> {
    let source = &world.main;
    diagnostics
        .iter()
        .map(|d| {
            let line = world
                .range(d.span)
                .and_then(|r| source.lines().byte_to_line(r.start))
                .map_or(String::new(), |l| format!("line {}: ", l + 1));
            let hints: String = d.hints.iter().map(|h| format!(" (hint: {})", h.v)).collect();
            format!("{line}{}{hints}", d.message)
        })
        .collect()
}

impl Typesetter {
    /// Builds the library and loads the embedded fonts, plus the supplementary fonts found in the
    /// directories of `MATURITY_FONT_DIRS` (separated by `:`) or else `DEFAULT_FONT_DIRS`.
    pub fn new() -> Typesetter {
        let dirs: Vec<PathBuf> = match std::env::var_os(FONT_DIRS_VAR) {
            Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
            _ => DEFAULT_FONT_DIRS.iter().map(PathBuf::from).collect(),
        };
        Typesetter::with_font_dirs(&dirs)
    }

    /// Builds the library and loads the embedded fonts, plus each of `SUPPLEMENTARY_FONTS` from
    /// the first of `dirs` that holds it. A missing or unreadable file is logged, not an error: a
    /// character no font draws is shown as a visible mark (`drawable`).
    pub fn with_font_dirs(dirs: &[PathBuf]) -> Typesetter {
        let mut fonts = FontStore::new();
        fonts.extend(typst_kit::fonts::embedded());
        let mut loaded = Vec::new();
        for name in SUPPLEMENTARY_FONTS {
            let Some(path) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) else {
                tracing::warn!(font = name, dirs = ?dirs, "supplementary font not found; its scripts show as marks");
                continue;
            };
            match std::fs::read(&path) {
                Ok(data) => {
                    let before = loaded.len();
                    for font in Font::iter(Bytes::new(data)) {
                        let info = font.info().clone();
                        fonts.push((font, info));
                        loaded.push(path.display().to_string());
                    }
                    if loaded.len() == before {
                        tracing::warn!(path = %path.display(), "not a font file; skipped");
                    }
                }
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot read a supplementary font"),
            }
        }
        loaded.dedup();
        Typesetter { library: LazyHash::new(Library::default()), fonts, supplementary: loaded }
    }

    /// The supplementary font files loaded, by path.
    pub fn supplementary(&self) -> &[String] {
        &self.supplementary
    }

    /// Whether some embedded font can draw `c` (white space always can).
    pub fn draws(&self, c: char) -> bool {
        let book = self.fonts.book();
        c.is_whitespace() || (0..).map_while(|i| book.info(i)).any(|info| info.coverage.contains(u32::from(c)))
    }

    /// `text` with every character no embedded font can draw replaced by a visible mark (the
    /// replacement character, else `?`), and the characters replaced. A PDF/A document may not
    /// show a character without a glyph, so that one such character would otherwise fail the
    /// whole document.
    pub fn drawable(&self, text: &str) -> (String, Vec<char>) {
        let mark = ['\u{FFFD}', '\u{25A1}', '?'].into_iter().find(|c| self.draws(*c)).unwrap_or('?');
        let mut missing = Vec::new();
        let shown = text
            .chars()
            .map(|c| {
                if self.draws(c) {
                    c
                } else {
                    missing.push(c);
                    mark
                }
            })
            .collect();
        (shown, missing)
    }

    /// Forgets memoised layout results older than `max_age` compilations, so that a long batch
    /// keeps its memory flat (Typst memoises across documents in one process).
    pub fn evict(max_age: usize) {
        typst::comemo::evict(max_age);
    }

    /// Compiles `source` dated `date` with only `files` readable, and hands the laid-out pages to
    /// `then` with the world (for diagnostics).
    fn compile<T>(
        &self,
        source: &str,
        files: &[(&str, Vec<u8>)],
        date: (i32, u8, u8),
        then: impl FnOnce(&Document<'_>, PagedDocument, Datetime) -> Result<T, TypesetError>,
    ) -> Result<T, TypesetError> {
        let today = Datetime::from_ymd(date.0, date.1, date.2).ok_or(TypesetError::Date(date.0, date.1, date.2))?;
        let main = Source::new(file_id("main.typ")?, source.to_string());
        let mut map = HashMap::new();
        for (name, bytes) in files {
            map.insert(file_id(name)?, Bytes::new(bytes.clone()));
        }
        let doc = Document { typesetter: self, main, files: map, today };
        let compiled = typst::compile::<PagedDocument>(&doc);
        let document = compiled.output.map_err(|errors| TypesetError::Compile(describe(&doc, &errors)))?;
        then(&doc, document, today)
    }

    /// Typesets `source` into one PNG image per page at `pixels_per_point` (2.0 is 144 dpi), for
    /// showing a document where a PDF cannot be (the repository's sample pages).
    pub fn png_pages(
        &self,
        source: &str,
        files: &[(&str, Vec<u8>)],
        date: (i32, u8, u8),
        pixels_per_point: f64,
    ) -> Result<Vec<Vec<u8>>, TypesetError> {
        let options = typst_render::RenderOptions { pixel_per_pt: pixels_per_point.into(), render_bleed: false };
        self.compile(source, files, date, |_, document, _| {
            document
                .pages()
                .iter()
                .enumerate()
                .map(|(i, page)| {
                    typst_render::render(page, &options)
                        .encode_png()
                        .map_err(|e| TypesetError::Png(format!("page {}: {e}", i + 1)))
                })
                .collect()
        })
    }

    /// Typesets `source` into a PDF/A-2b document dated `date` (year, month, day), identified by
    /// `ident` (stable for the same document: output is deterministic). `files` are the only
    /// files the document may read.
    pub fn pdf(
        &self,
        source: &str,
        files: &[(&str, Vec<u8>)],
        date: (i32, u8, u8),
        ident: &str,
    ) -> Result<Vec<u8>, TypesetError> {
        self.compile(source, files, date, |doc, document, today| {
            let standards = PdfStandards::new(&[PdfStandard::A_2b])
                .map_err(|e| TypesetError::Pdf(vec![e.message().to_string()]))?;
            let options = PdfOptions {
                ident: Smart::Custom(ident.to_string()),
                timestamp: Some(Timestamp::new_utc(today)),
                standards,
                ..PdfOptions::default()
            };
            typst_pdf::pdf(&document, &options).map_err(|errors| TypesetError::Pdf(describe(doc, &errors)))
        })
    }
}
