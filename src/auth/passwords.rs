//! argon2id password hashing. Hashing costs tens of milliseconds of CPU by design, so callers run
//! it on a blocking thread, never on the request executor, and at most one per core at a time.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};

/// Longest password accepted anywhere, in bytes of UTF-8: bounds the work one request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted when one is set, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_BYTES} bytes long")]
    TooLong,
    #[error("password hashing failed")]
    Hashing(#[source] argon2::password_hash::Error),
}

/// Hashes and verifies with the configured argon2id parameters. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// A real hash of a random password, verified when the user does not exist so that an
    /// unknown username costs the same time as a wrong password.
    dummy_hash: String,
    /// argon2's working memory (`argon2_memory_kib`, 19 MiB by default), kept between
    /// verifications, one buffer per hashing slot: fresh memory costs a page fault per 4 KiB on
    /// first touch, which made a login nearly twice as slow as the hash itself. At most
    /// `kept_buffers` are kept; a buffer for a hash of other parameters is never kept.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    kept_buffers: usize,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// `slots` is how many hashes may run at once (the caller bounds that); as many buffers are
    /// kept for reuse.
    pub fn new(params: Params, slots: usize) -> Result<Passwords, PasswordError> {
        let dummy_hash = hash_with(&argon2(&params), &super::tokens::random_id(24))?;
        Ok(Passwords {
            params,
            dummy_hash,
            memory: Arc::default(),
            kept_buffers: slots.max(1),
        })
    }

    /// Checks a new password against the length rules.
    pub fn check_policy(password: &str) -> Result<(), PasswordError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        Ok(())
    }

    /// True when `stored` was made with weaker settings than the configured ones (another
    /// algorithm or version, less memory, fewer passes or lanes), or cannot be read: it should
    /// be replaced by a new hash the next time the password is known.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return true;
        };
        hash.algorithm != Algorithm::Argon2id.ident()
            || hash.version != Some(Version::V0x13 as u32)
            || params.m_cost() < self.params.m_cost()
            || params.t_cost() < self.params.t_cost()
            || params.p_cost() < self.params.p_cost()
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh random salt. Blocking.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        hash_with(&argon2(&self.params), password)
    }

    /// True when `password` matches `stored`. With no stored hash (unknown user) it still spends
    /// the time of a real verification and answers false. Blocking.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        // Over-long input cannot match anything we stored; still spend the usual time.
        let too_long = password.len() > MAX_PASSWORD_BYTES;
        let candidate = if too_long { "" } else { password };
        let hash = match stored {
            Some(hash) if !too_long => hash,
            _ => &self.dummy_hash,
        };
        let matched = self.matches(candidate.as_bytes(), hash);
        matched && stored.is_some() && !too_long
    }

    /// Recomputes `stored`'s hash of `password` with the parameters, salt and algorithm written
    /// in `stored` (so older hashes keep verifying) and compares in constant time.
    fn matches(&self, password: &[u8], stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
            return false;
        };
        let algorithm = Algorithm::try_from(hash.algorithm.as_str());
        let version = hash
            .version
            .map_or(Ok(Version::default()), Version::try_from);
        let (Ok(algorithm), Ok(version), Ok(params)) =
            (algorithm, version, Params::try_from(&hash))
        else {
            return false;
        };
        let mut output = [0u8; Output::MAX_LENGTH];
        let Some(output) = output.get_mut(..expected.len()) else {
            return false;
        };
        let blocks = params.block_count();
        // A stored hash of other parameters (an older configuration) gets memory of its own.
        let mut memory = self.take_memory(blocks);
        let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password,
            salt,
            output,
            &mut memory[..],
        );
        self.give_back(memory);
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(output).is_ok_and(|output| output == *expected)
    }

    /// Working memory of exactly `blocks` blocks: a kept buffer when it has that size.
    fn take_memory(&self, blocks: usize) -> Vec<Block> {
        let kept = if blocks == self.params.block_count() {
            self.lock().pop()
        } else {
            None
        };
        // argon2 overwrites every block before reading it, so a reused buffer needs no clearing.
        kept.unwrap_or_else(|| vec![Block::new(); blocks])
    }

    /// Keeps a buffer of the configured size for the next verification, up to one per slot.
    fn give_back(&self, memory: Vec<Block>) {
        if memory.len() != self.params.block_count() {
            return;
        }
        let mut kept = self.lock();
        if kept.len() < self.kept_buffers {
            kept.push(memory);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(hasher: &Argon2<'_>, password: &str) -> Result<String, PasswordError> {
    hasher
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(PasswordError::Hashing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Params {
        Params::new(1024, 1, 1, None).unwrap_or_default()
    }

    #[test]
    fn hashes_verify_and_reused_memory_gives_the_same_answers() {
        let passwords = Passwords::new(cheap(), 2).expect("passwords");
        let hash = passwords.hash("correct horse").expect("hash");
        for _ in 0..3 {
            assert!(passwords.verify("correct horse", Some(&hash)));
            assert!(!passwords.verify("wrong horse", Some(&hash)));
        }
        assert!(!passwords.verify("correct horse", None));
        assert!(passwords.lock().len() <= 2);
    }

    #[test]
    fn an_older_hash_of_other_parameters_still_verifies_and_is_due_for_a_rehash() {
        let old = Passwords::new(Params::new(512, 1, 1, None).unwrap_or_default(), 1)
            .expect("old passwords");
        let hash = old.hash("correct horse").expect("hash");
        let current = Passwords::new(cheap(), 1).expect("passwords");
        assert!(current.verify("correct horse", Some(&hash)));
        assert!(current.needs_rehash(&hash));
        assert!(!current.needs_rehash(&current.hash("x").expect("hash")));
    }
}
