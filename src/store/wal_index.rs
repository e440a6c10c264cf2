//! Seeing other connections' commits for the price of a memory read.
//!
//! In WAL mode every SQLite connection, in every process, finds committed data through the
//! *wal-index header* at the start of the `-shm` file, which all of them map into memory. Each
//! commit rewrites that header (its `iChange` counter, `mxFrame`, checksums), so a copy of it is a
//! change marker: if the header is the same as before, nobody has committed since. Reading it
//! here takes nanoseconds, where `PRAGMA data_version` takes a read transaction with file-lock
//! system calls and a connection mutex on every request.
//!
//! The header layout is SQLite's documented, cross-version format (<https://sqlite.org/walformat.html>,
//! "wal-index header"): two copies of a 48-byte struct, written copy 2 first and copy 1 second,
//! read copy 1 first and copy 2 second; if they differ, a commit is being written. We check the
//! format version and fall back to `PRAGMA data_version` whenever anything is not as expected.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{Ordering, fence};

use memmap2::{MmapOptions, MmapRaw};

/// Size of one header copy, in 32-bit words (48 bytes).
const HEADER_WORDS: usize = 12;
/// `iVersion` of every wal-index since SQLite 3.7.0.
const WALINDEX_VERSION: u32 = 3_007_000;

/// A read-only view of the wal-index header of one database.
pub struct WalIndex {
    map: MmapRaw,
}

impl WalIndex {
    /// Maps the `-shm` file of the database at `path`. Call it after a connection has opened the
    /// database in WAL mode (the file exists and its header is initialised then); `None` when
    /// there is no usable wal-index, and callers keep using `PRAGMA data_version`.
    pub fn open(path: &Path) -> Option<WalIndex> {
        let mut shm = path.as_os_str().to_owned();
        shm.push("-shm");
        let file = File::open(&shm).ok()?;
        let map = MmapOptions::new()
            .len(2 * HEADER_WORDS * 4)
            .map_raw_read_only(&file)
            .ok()?;
        let index = WalIndex { map };
        // Usable only if the header reads back consistently and is the format we know.
        let header = (0..3).find_map(|_| index.header())?;
        (header[0] == WALINDEX_VERSION).then_some(index)
    }

    fn word(&self, index: usize) -> u32 {
        debug_assert!(index < 2 * HEADER_WORDS);
        // SAFETY: the mapping is 96 bytes long, page-aligned, and lives as long as `self`; `index`
        // is below 24, so the pointer is in bounds and 4-byte aligned. Other processes write this
        // memory concurrently, so it is read volatile (as SQLite itself does), never through a
        // reference.
        unsafe { std::ptr::read_volatile(self.map.as_ptr().add(index * 4).cast::<u32>()) }
    }

    /// The header, when its two copies agree (no commit in progress) and it is initialised.
    pub fn header(&self) -> Option<[u32; HEADER_WORDS]> {
        // Copy 1, then copy 2: the reverse of the order in which a commit writes them.
        let first: [u32; HEADER_WORDS] = std::array::from_fn(|i| self.word(i));
        fence(Ordering::SeqCst);
        let second: [u32; HEADER_WORDS] = std::array::from_fn(|i| self.word(HEADER_WORDS + i));
        // Byte 12 (the first byte of word 3 in memory order) is `isInit`.
        let is_init = first[3].to_ne_bytes()[0] != 0;
        (first == second && is_init).then_some(first)
    }

    /// A 64-bit digest of the header: it changes with every commit (FNV-1a over the 48 bytes).
    pub fn marker(&self) -> Option<u64> {
        // A commit being written makes the copies differ for a few instructions: read again.
        let header = (0..4).find_map(|_| self.header())?;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in header.iter().flat_map(|word| word.to_ne_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Some(hash)
    }
}
