//! From a chapter's data to bytes (PDF or the generated Typst source), and bytes to a durable
//! file: written under a temporary name, flushed to disk, renamed into place and the folder
//! flushed too, so that a crash leaves either no file or the complete one, never a partial one.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::chapter::{Book, Chapter};
use crate::{TemplateError, Templates, TypesetError, Typesetter};
use domain_model::Locale;

/// What to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PDF/A-2b.
    Pdf,
    /// The generated Typst source.
    Typ,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Typ => "typ",
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Typ => "text/vnd.typst; charset=utf-8",
        }
    }
}

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Typst failed.
    #[error(transparent)]
    Typeset(#[from] TypesetError),
}

/// Evictions a memoised Typst result survives without being reused (see `Renderer::after_document`).
pub const EVICT_AGE: usize = 1;

/// Documents typeset between two evictions (see `Renderer::after_document`).
pub const EVICT_EVERY: u64 = 3;

/// Templates and the typesetter, built once and shared by every thread.
#[derive(Debug)]
pub struct Renderer {
    templates: Templates,
    typesetter: Typesetter,
    /// Chapters made (`chapter`), PDF or source: what a served archive spares, counted.
    chapters: std::sync::atomic::AtomicU64,
    /// Documents typeset (PDF or pages), for the evictions (`after_document`).
    typeset: std::sync::atomic::AtomicU64,
}

fn ymd(date: (i32, u32, u32)) -> (i32, u8, u8) {
    (date.0, u8::try_from(date.1).unwrap_or(1), u8::try_from(date.2).unwrap_or(1))
}

impl Renderer {
    /// A renderer with `templates`.
    pub fn new(templates: Templates) -> Renderer {
        Renderer::with_typesetter(templates, Typesetter::new())
    }

    /// A renderer with `templates` and a typesetter of the caller's (for example with other fonts).
    pub fn with_typesetter(templates: Templates, typesetter: Typesetter) -> Renderer {
        Renderer { templates, typesetter, chapters: Default::default(), typeset: Default::default() }
    }

    /// One chapter in `locale` and `format`, dated `date`; `ident` names the document stably
    /// (the same input, date and ident give the same bytes).
    pub fn chapter(
        &self,
        chapter: &Chapter,
        locale: Locale,
        format: Format,
        date: (i32, u32, u32),
        ident: &str,
    ) -> Result<Vec<u8>, RenderError> {
        self.chapters.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let chapter = self.drawable(chapter);
        let source = self.templates.chapter(&chapter, locale.tag())?;
        match format {
            Format::Typ => Ok(source.into_bytes()),
            Format::Pdf => Ok(self.typeset(&source, date, ident)?),
        }
    }

    /// How many chapters this renderer has made (`chapter`) since it was built.
    pub fn chapters_made(&self) -> u64 {
        self.chapters.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Typesets `source` into a PDF, then `after_document`.
    fn typeset(&self, source: &str, date: (i32, u32, u32), ident: &str) -> Result<Vec<u8>, TypesetError> {
        let pdf = self.typesetter.pdf(source, &[], ymd(date), ident);
        self.after_document();
        pdf
    }

    /// After every `EVICT_EVERY`th document typeset (PDF or pages), trims Typst's memo cache.
    /// Typst memoises across documents in a global cache; an entry's age grows by one per eviction
    /// and resets when reused. Evicting keeps what the next documents reuse (fonts, the templates'
    /// fixed parts) and drops the rest, so that memory stays flat however many documents a
    /// process makes. An eviction walks every cache under its write lock, stalling the other
    /// threads' typesetting meanwhile: once every third document (entries unused since the last
    /// eviction go) is about 4% faster than after every one, for about 5% more memory
    /// (BENCHMARKS.md, "Nightly batch: the memo cache trimmed every third chapter").
    fn after_document(&self) {
        if self.typeset.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            Typesetter::evict(EVICT_AGE);
        }
    }

    /// One chapter in `locale` as PNG images, one per page, at `pixels_per_point`.
    pub fn chapter_pages(
        &self,
        chapter: &Chapter,
        locale: Locale,
        date: (i32, u32, u32),
        pixels_per_point: f64,
    ) -> Result<Vec<Vec<u8>>, RenderError> {
        let chapter = self.drawable(chapter);
        let source = self.templates.chapter(&chapter, locale.tag())?;
        let pages = self.typesetter.png_pages(&source, &[], ymd(date), pixels_per_point);
        self.after_document();
        Ok(pages?)
    }

    /// `chapter` with the characters of the firm's name that no embedded font draws shown as a
    /// visible mark (and logged), so that a name in a script without a font never fails its
    /// chapter.
    fn drawable<'c>(&self, chapter: &'c Chapter) -> Cow<'c, Chapter> {
        let (shown, missing) = self.typesetter.drawable(&chapter.firm_name);
        if missing.is_empty() {
            return Cow::Borrowed(chapter);
        }
        let codes: Vec<String> = missing.iter().map(|c| format!("U+{:04X}", u32::from(*c))).collect();
        tracing::warn!(
            characters = %codes.join(" "),
            "the firm's name has characters no embedded font draws; they are shown as a replacement mark"
        );
        Cow::Owned(Chapter { firm_name: shown, ..chapter.clone() })
    }

    /// A volume of chapters as PDF.
    pub fn book(
        &self,
        book: &Book,
        locale: Locale,
        date: (i32, u32, u32),
        ident: &str,
    ) -> Result<Vec<u8>, RenderError> {
        let book = Book {
            title: book.title.clone(),
            date: book.date.clone(),
            chapters: book.chapters.iter().map(|c| self.drawable(c).into_owned()).collect(),
        };
        let source = self.templates.book(&book, locale.tag())?;
        Ok(self.typeset(&source, date, ident)?)
    }
}

impl Renderer {
    /// A sector volume as PDF (or its Typst source) in `locale`, dated `date`.
    pub fn volume(
        &self,
        volume: &crate::volume::Volume,
        locale: Locale,
        format: Format,
        date: (i32, u32, u32),
        ident: &str,
    ) -> Result<Vec<u8>, RenderError> {
        let source = self.templates.volume(volume, locale.tag())?;
        match format {
            Format::Typ => Ok(source.into_bytes()),
            Format::Pdf => Ok(self.typeset(&source, date, ident)?),
        }
    }
}

/// The prefix of temporary files; never a final name.
pub const TEMP_PREFIX: &str = ".partial-";

/// Writes `bytes` to `path` durably and atomically (see the module's documentation).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!("{TEMP_PREFIX}{name}.{}.{nanos}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        // Leave nothing half-written behind (the rename may have happened; the file is then whole).
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The process that wrote a temporary file (from its name), when that process is gone from this
/// host. A writer on another host sharing the folder is judged by age alone.
fn writer_gone(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let (_nanos, pid) = (parts.next(), parts.next());
    pid.and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|pid| pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists())
        && Path::new("/proc/self").exists()
}

/// Removes temporary files under `dir` (recursively) that a killed writer left: those older than
/// `older_than`, and those whose writing process is gone from this host. Younger ones of a live
/// process may belong to a writer still at work. Returns what was removed.
pub fn sweep_temporaries(dir: &Path, older_than: std::time::Duration) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if let Some(name) = entry.file_name().to_str()
                && name.starts_with(TEMP_PREFIX)
                && (writer_gone(name)
                    || meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age >= older_than))
                && std::fs::remove_file(&path).is_ok()
            {
                removed.push(path);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_only_the_final_file() {
        let dir = std::env::temp_dir().join(format!("report-atomic-{}", std::process::id()));
        let path = dir.join("a/b/chapter.pdf");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["chapter.pdf"]);
        // A leftover temporary is swept once it is old enough, not before.
        let stale = path.parent().unwrap().join(format!("{TEMP_PREFIX}chapter.pdf.{}.2", std::process::id()));
        std::fs::write(&stale, b"half").unwrap();
        assert!(sweep_temporaries(&dir, std::time::Duration::from_secs(3600)).is_empty());
        assert_eq!(sweep_temporaries(&dir, std::time::Duration::ZERO), [stale]);
        // One of a process that is gone goes at once, whatever its age (pid 4194304 exceeds
        // Linux's pid_max, so it never runs).
        let dead = path.parent().unwrap().join(format!("{TEMP_PREFIX}chapter.pdf.4194304.2"));
        std::fs::write(&dead, b"half").unwrap();
        assert_eq!(sweep_temporaries(&dir, std::time::Duration::from_secs(3600)), [dead]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_folder_is_an_error_and_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("report-atomic-ro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let listing = |d: &Path| {
            let mut names: Vec<String> =
                std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            names.sort();
            names
        };
        // A file where a folder should be: the folder cannot be made.
        std::fs::write(dir.join("blocked"), b"").unwrap();
        assert!(write_atomic(&dir.join("blocked/chapter.pdf"), b"x").is_err());
        assert_eq!(std::fs::read(dir.join("blocked")).unwrap(), b"", "the file in the way was changed");
        // A folder where the file should be: the temporary is written, the rename fails, and the
        // temporary goes (the folder keeps what it held).
        std::fs::create_dir_all(dir.join("chapter.pdf/inside")).unwrap();
        assert!(write_atomic(&dir.join("chapter.pdf"), b"whole chapter").is_err());
        assert_eq!(listing(&dir), ["blocked", "chapter.pdf"], "something was left beside them");
        assert_eq!(listing(&dir.join("chapter.pdf")), ["inside"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
