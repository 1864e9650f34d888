//! The secret key of the firm pseudonyms. It must stay the same for the life of the benchmark
//! store (a new key makes every firm a new pseudonym, so it would count twice), and it must not
//! sit in the database it protects: it lives in its own file, created with random bytes on first
//! start and readable by the owner only.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Length of a new key, in bytes.
const KEY_BYTES: usize = 32;

/// Reads the key in `path`; a missing file is an error that says where it was looked for.
pub fn load(path: &Path) -> anyhow::Result<Vec<u8>> {
    read(path)?.with_context(|| {
        format!(
            "there is no pseudonym key at {}: run this where the server runs, or name the key with --pseudonym-key-file (or --config)",
            path.display()
        )
    })
}

/// Reads the key in `path`, creating it when the file does not exist. Servers started together on
/// one machine all end with the same key: the new key is written
/// to a file of its own and linked into place only if no other process got there first, so that
/// no process reads a half-written key or replaces another's.
pub fn load_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(key) = read(path)? {
        return Ok(key);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    }
    let key = crate::random::bytes(KEY_BYTES).context("while reading random bytes for a new pseudonym key")?;
    let salt = hex::encode(crate::random::bytes(8).context("while reading random bytes for a file name")?);
    let draft = path.with_extension(format!("new-{}-{salt}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&draft).and_then(|mut file| file.write_all(&key).and_then(|()| file.sync_all()));
    let mut linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    // A file system without hard links: the key is written in place, created only if absent (a
    // process that starts at that very moment may then read it short and say so).
    if linked
        .as_ref()
        .is_err_and(|e| matches!(e.kind(), std::io::ErrorKind::Unsupported | std::io::ErrorKind::PermissionDenied))
    {
        linked = options.open(path).and_then(|mut file| file.write_all(&key).and_then(|()| file.sync_all()));
    }
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new pseudonym key");
            Ok(key)
        }
        // Another process created it in the meantime: its key is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path),
        Err(e) => Err(e).with_context(|| format!("while creating the pseudonym key {}", path.display())),
    }
}

/// The key in `path`, or `None` when there is no such file.
fn read(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(key) if key.len() >= 16 => Ok(Some(key)),
        Ok(key) => anyhow::bail!("pseudonym key {} holds {} bytes; at least 16 are needed", path.display(), key.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("while reading the pseudonym key {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight starts at once on a folder with no key: one key is created, every start reads it,
    /// and no draft file is left behind.
    #[test]
    fn starts_at_once_all_get_the_one_key_created() {
        let dir = std::env::temp_dir().join(format!("store_keys_{}_{}", std::process::id(), crate::time::now_us()));
        let path = dir.join("data").join("pseudonym.key");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    load_or_create(&path).unwrap()
                })
            })
            .collect();
        let keys: Vec<Vec<u8>> = starts.into_iter().map(|s| s.join().unwrap()).collect();
        assert_eq!(keys[0].len(), KEY_BYTES);
        assert!(keys.iter().all(|k| *k == keys[0]), "different keys");
        assert_eq!(std::fs::read(&path).unwrap(), keys[0]);
        let files: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(files, vec![std::ffi::OsString::from("pseudonym.key")]);
        assert!(load(&dir.join("none")).unwrap_err().to_string().contains("there is no pseudonym key at"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
