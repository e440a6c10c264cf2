//! Seeing other connections' commits for the price of a memory read.
//!
//! In WAL mode every SQLite connection, in every process, finds committed data through the
//! *wal-index header* at the start of the shared-memory (`-shm`) region, which all of them map
//! into memory. Each commit rewrites that header (its `iChange` counter, `mxFrame`, checksums),
//! so a copy of it is a change marker: if the header is the same as before, nobody has committed
//! since. Reading it takes nanoseconds, where `PRAGMA data_version` takes a read transaction
//! with file-lock system calls and a connection mutex on every request.
//!
//! The header layout is SQLite's documented, cross-version format (<https://sqlite.org/walformat.html>,
//! "wal-index header"): two copies of a 48-byte struct, written copy 2 first and copy 1 second,
//! read copy 1 first and copy 2 second; if they differ, a commit is being written. We check the
//! format version and fall back to `PRAGMA data_version` whenever anything is not as expected.
//!
//! The memory is SQLite's own mapping, obtained from the connection through its VFS (`xShmMap`):
//! opening the `-shm` file ourselves would be wrong, because closing any descriptor of a file
//! drops every POSIX lock the process holds on it, SQLite's included.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU32, Ordering, fence};

use rusqlite::{Connection, ffi};

/// Size of one header copy, in 32-bit words (48 bytes).
const HEADER_WORDS: usize = 12;
/// `iVersion` of every wal-index since SQLite 3.7.0.
const WALINDEX_VERSION: u32 = 3_007_000;
/// The size of a wal-index region, as SQLite maps them (`WALINDEX_PGSZ`).
const REGION_BYTES: c_int = 32 * 1024;

/// The wal-index header of one connection's database, read in place.
pub struct WalIndex {
    /// The start of region 0 of the connection's shared-memory mapping.
    header: *const u32,
}

// SAFETY: the pointer is only read, through atomics, and stays valid as long as the connection it
// came from is open (see `WalIndex::of`); the memory is shared between processes by design.
unsafe impl Send for WalIndex {}
unsafe impl Sync for WalIndex {}

impl WalIndex {
    /// The wal-index of `conn`'s main database, when it is in WAL mode with shared memory and the
    /// header is one we know; `None` otherwise (callers then use `PRAGMA data_version`).
    ///
    /// # Safety
    ///
    /// `conn` must stay open, and keep its database, for as long as the returned value is used:
    /// the pointer is into memory the connection maps and unmaps when it closes. `conn` must have
    /// read the database since it was opened (so that the wal-index is mapped).
    pub unsafe fn of(conn: &Connection) -> Option<WalIndex> {
        // SAFETY: a valid, open connection handle; SQLITE_FCNTL_FILE_POINTER writes the main
        // database's `sqlite3_file*`, which lives as long as the connection.
        let region = unsafe {
            let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
            let rc = ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&raw mut file).cast::<c_void>(),
            );
            if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
                return None;
            }
            let methods = &*(*file).pMethods;
            // xShmMap exists from version 2 of the I/O methods.
            let shm_map = methods.xShmMap.filter(|_| methods.iVersion >= 2)?;
            let mut region: *mut c_void = std::ptr::null_mut();
            // bExtend = 0: only a region that already exists, as SQLite's readers ask for it.
            let rc = shm_map(file, 0, REGION_BYTES, 0, &raw mut region);
            if rc != ffi::SQLITE_OK || region.is_null() {
                return None;
            }
            region
        };
        let index = WalIndex {
            header: region.cast::<u32>(),
        };
        // Usable only if the header reads back consistently and is the format we know.
        let header = (0..3).find_map(|_| index.header())?;
        (header[0] == WALINDEX_VERSION).then_some(index)
    }

    fn word(&self, index: usize) -> u32 {
        debug_assert!(index < 2 * HEADER_WORDS);
        // SAFETY: region 0 is 32 KiB, page-aligned and mapped read-write by SQLite for as long
        // as the connection is open (the contract of `of`); `index` is below 24, so the word is
        // in bounds and aligned. Other processes write it concurrently, so it is read atomically,
        // never through a reference.
        unsafe { AtomicU32::from_ptr(self.header.add(index).cast_mut()).load(Ordering::Acquire) }
    }

    /// The header, when its two copies agree (no commit in progress) and it is initialised.
    fn header(&self) -> Option<[u32; HEADER_WORDS]> {
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
