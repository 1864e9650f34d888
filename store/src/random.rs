//! Random bytes and characters from the operating system (`getrandom`), for keys, secrets, ids
//! and jitter: the one home of randomness in the workspace.

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The operating system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read random bytes: {0}")]
pub struct RandomError(String);

/// `n` bytes from the operating system's random source.
pub fn bytes(n: usize) -> Result<Vec<u8>, RandomError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| RandomError(e.to_string()))?;
    Ok(buf)
}

/// `n` random letters and digits, each equally likely.
pub fn chars(n: usize) -> Result<String, RandomError> {
    // Rejection sampling: bytes of 248 and up would favour the first characters.
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in bytes(64)? {
            if out.len() < n && usize::from(b) < 4 * ALPHABET.len() {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_of_the_alphabet_and_differ() {
        let a = chars(32).unwrap();
        let b = chars(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(bytes(7).unwrap().len(), 7);
    }
}
