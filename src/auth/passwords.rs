//! argon2id password hashing. Hashing costs tens of milliseconds of CPU by design, so the async
//! helpers run it on a blocking thread, never on the request executor.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};

/// Longest password accepted anywhere: bounds the work one request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted when one is set.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_BYTES} bytes long")]
    TooLong,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Hashes and verifies with the configured argon2id parameters.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// A real hash of a random password, verified when the user does not exist so that an
    /// unknown username costs the same time as a wrong password.
    dummy_hash: String,
    /// argon2's working memory (`argon2_memory_kib`, 19 MiB by default), kept between
    /// verifications: fresh memory costs a page fault per 4 KiB on first touch, which made a
    /// login nearly twice as slow as the hash itself. One buffer is kept, for the usual one login
    /// at a time; logins hashing alongside it get memory of their own, given back to the system
    /// when they finish, so a burst of logins does not leave the process larger.
    kept: Arc<Mutex<Option<WorkingMemory>>>,
}

/// argon2 working memory in an anonymous mapping of its own: returned to the system when dropped,
/// whatever the allocator would do with a block of this size.
struct WorkingMemory {
    map: memmap2::MmapMut,
    blocks: usize,
}

impl WorkingMemory {
    /// `None` when the system cannot provide it (or a stored hash asks for absurd amounts).
    fn new(blocks: usize) -> Option<WorkingMemory> {
        let bytes = blocks.checked_mul(Block::SIZE)?;
        let map = memmap2::MmapOptions::new().len(bytes).map_anon().ok()?;
        Some(WorkingMemory { map, blocks })
    }

    fn len(&self) -> usize {
        self.blocks
    }

    fn blocks(&mut self) -> &mut [Block] {
        // SAFETY: the mapping is `blocks * Block::SIZE` bytes, page-aligned (Block needs 64),
        // zero-filled by the system, and any bytes are a valid `Block` (an array of u64);
        // `&mut self` makes the borrow exclusive and the mapping outlives it.
        unsafe {
            std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<Block>(), self.blocks)
        }
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    pub fn new(params: Params) -> Result<Passwords, PasswordError> {
        let hasher = argon2(&params);
        let dummy_hash = hash_with(&hasher, &crate::auth::tokens::random_id(24))?;
        Ok(Passwords {
            params,
            dummy_hash,
            kept: Arc::default(),
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
        let blocks = params.block_count();
        let Some(mut memory) = self.take_memory(blocks) else {
            log::error!("no memory for a password hash of {blocks} KiB");
            return false;
        };
        let mut output = [0u8; Output::MAX_LENGTH];
        let Some(output) = output.get_mut(..expected.len()) else {
            return false;
        };
        let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password,
            salt,
            output,
            &mut memory.blocks()[..blocks],
        );
        self.give_back(memory);
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(output).is_ok_and(|output| output == *expected)
    }

    /// Working memory of at least `blocks` blocks: the kept buffer if it is free and big enough.
    fn take_memory(&self, blocks: usize) -> Option<WorkingMemory> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        match kept {
            Some(memory) if memory.len() >= blocks => Some(memory),
            // A hash made with more memory than configured: keep the buffer for the next one.
            Some(smaller) => {
                self.give_back(smaller);
                WorkingMemory::new(blocks)
            }
            None => WorkingMemory::new(blocks),
        }
    }

    /// Keeps a buffer of the configured size for the next verification if none is kept; any
    /// other is dropped, which unmaps it. argon2 overwrites every block before reading it, so
    /// reuse needs no clearing.
    fn give_back(&self, memory: WorkingMemory) {
        if memory.len() != self.params.block_count() {
            return;
        }
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.is_none() {
            *kept = Some(memory);
        }
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(hasher: &Argon2<'_>, password: &str) -> Result<String, PasswordError> {
    hasher
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}
