//! Typst embedded as a library. The library and the fonts (compiled into the binary) are built
//! once and shared by every document and thread; each document gets a small `World` that serves
//! its main source and only the files the renderer hands it, and refuses everything else.

use std::collections::HashMap;

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
}

/// The shared library and fonts.
pub struct Typesetter {
    library: LazyHash<Library>,
    fonts: FontStore,
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
    /// Builds the library and loads the embedded fonts.
    pub fn new() -> Typesetter {
        let mut fonts = FontStore::new();
        fonts.extend(typst_kit::fonts::embedded());
        Typesetter { library: LazyHash::new(Library::default()), fonts }
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
        let today = Datetime::from_ymd(date.0, date.1, date.2).ok_or(TypesetError::Date(date.0, date.1, date.2))?;
        let main = Source::new(file_id("main.typ")?, source.to_string());
        let mut map = HashMap::new();
        for (name, bytes) in files {
            map.insert(file_id(name)?, Bytes::new(bytes.clone()));
        }
        let doc = Document { typesetter: self, main, files: map, today };
        let compiled = typst::compile::<PagedDocument>(&doc);
        let document = compiled.output.map_err(|errors| TypesetError::Compile(describe(&doc, &errors)))?;
        let standards =
            PdfStandards::new(&[PdfStandard::A_2b]).map_err(|e| TypesetError::Pdf(vec![e.message().to_string()]))?;
        let options = PdfOptions {
            ident: Smart::Custom(ident.to_string()),
            timestamp: Some(Timestamp::new_utc(today)),
            standards,
            ..PdfOptions::default()
        };
        typst_pdf::pdf(&document, &options).map_err(|errors| TypesetError::Pdf(describe(&doc, &errors)))
    }
}
