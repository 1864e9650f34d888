//! The secret key of the firm pseudonyms. It must stay the same for the life of the benchmark
//! store (a new key makes every firm a new pseudonym, so it would count twice), and it must not
//! sit in the database it protects: it lives in its own file, created with random bytes on first
//! start and readable by the owner only.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Length of a new key, in bytes.
const KEY_BYTES: usize = 32;

/// Reads the key in `path`, creating it when the file does not exist.
pub fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(key) if key.len() >= 16 => return Ok(key),
        Ok(key) => anyhow::bail!("pseudonym key {} holds {} bytes; at least 16 are needed", path.display(), key.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("while reading the pseudonym key {}", path.display())),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    }
    let key = crate::random::bytes(KEY_BYTES).context("while reading random bytes for a new pseudonym key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file =
        options.open(path).with_context(|| format!("while creating the pseudonym key {}", path.display()))?;
    file.write_all(&key).and_then(|()| file.sync_all()).context("while writing the pseudonym key")?;
    tracing::info!(path = %path.display(), "created a new pseudonym key");
    Ok(key)
}
