//! One-time passwords as the RFCs define them, written out here from the RFCs alone: SHA-1
//! (FIPS 180-4, RFC 3174), HMAC (RFC 2104), HOTP (RFC 4226), TOTP (RFC 6238) and base32
//! (RFC 4648). The tests compute every code with this, never with the server's code or its
//! crates, so a server that agrees with it agrees with the standard rather than with itself.
//! Each piece is checked against the published test vectors, and the server's own generator
//! once against it.

use jwtapp::auth::TotpSecret;

/// Seconds of a time step (RFC 6238's X, as authenticator apps use it).
pub const STEP_SECS: u64 = 30;

/// SHA-1 of `message` (FIPS 180-4, section 6.1).
pub fn sha1(message: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&(message.len() as u64 * 8).to_be_bytes());
    for block in padded.chunks(64) {
        let mut w = [0u32; 80];
        for (word, bytes) in w.iter_mut().zip(block.chunks(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, word) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*word);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (state, new) in h.iter_mut().zip([a, b, c, d, e]) {
            *state = state.wrapping_add(new);
        }
    }
    let mut digest = [0u8; 20];
    for (bytes, word) in digest.chunks_mut(4).zip(h) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// HMAC-SHA-1 (RFC 2104, with SHA-1's 64-byte block).
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..20].copy_from_slice(&sha1(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(message);
    let mut outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer)
}

/// HOTP (RFC 4226, section 5.3): `digits` decimal digits of the dynamically truncated
/// HMAC-SHA-1 of the counter.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let mac = hmac_sha1(secret, &counter.to_be_bytes());
    let offset = usize::from(mac[19] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    let code = u64::from(binary) % 10u64.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The 6-digit TOTP code of time step `step` (RFC 6238: HOTP of the step counter).
pub fn totp_of_step(secret: &[u8], step: u64) -> String {
    hotp(secret, step, 6)
}

/// The time step of the Unix time `time`.
pub fn step_of(time: u64) -> u64 {
    time / STEP_SECS
}

/// Base32 (RFC 4648, section 6) to bytes; padding optional, letters in either case.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut held = 0u32;
    let mut out = Vec::new();
    for byte in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == byte.to_ascii_uppercase())?;
        bits = (bits << 5) | value as u64;
        held += 5;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sha1_matches_the_fips_180_examples() {
    assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(
        hex(&sha1(b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    // Two blocks: the padding does not fit after 56 bytes.
    assert_eq!(
        hex(&sha1(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
}

#[test]
fn hmac_sha1_matches_rfc_2202() {
    // Test cases 1, 2 and 6 (a key longer than the block).
    assert_eq!(
        hex(&hmac_sha1(&[0x0b; 20], b"Hi There")),
        "b617318655057264e28bc0b6fb378c8ef146be00"
    );
    assert_eq!(
        hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    assert_eq!(
        hex(&hmac_sha1(
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "aa4ae5e15272d00e95705637ce8a3b55ed402112"
    );
}

#[test]
fn hotp_matches_rfc_4226_appendix_d() {
    let secret = b"12345678901234567890";
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, code) in expected.iter().enumerate() {
        assert_eq!(hotp(secret, counter as u64, 6), *code, "counter {counter}");
    }
}

#[test]
fn totp_matches_rfc_6238_appendix_b() {
    // The SHA-1 rows: 8 digits in the RFC; the apps' 6 digits are their last six.
    let secret = b"12345678901234567890";
    let expected = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];
    for (time, code) in expected {
        assert_eq!(hotp(secret, step_of(time), 8), code, "T = {time}");
        assert_eq!(totp_of_step(secret, step_of(time)), code[2..], "T = {time}");
    }
}

#[test]
fn base32_matches_rfc_4648() {
    assert_eq!(base32_decode("").as_deref(), Some(&b""[..]));
    assert_eq!(base32_decode("MY======").as_deref(), Some(&b"f"[..]));
    assert_eq!(base32_decode("MZXW6YTBOI").as_deref(), Some(&b"foobar"[..]));
    assert_eq!(
        base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").as_deref(),
        Some(&b"12345678901234567890"[..])
    );
    assert_eq!(base32_decode("MZXW1"), None, "1 is not a base32 digit");
}

#[test]
fn the_servers_codes_are_the_rfcs_codes() {
    // Random secrets of the size the server makes, at times across many steps: the server's
    // generator (what its check compares against) and this implementation agree on every one.
    for _ in 0..20 {
        let bytes: [u8; 20] = rand::random();
        let secret = TotpSecret::from_bytes(bytes.to_vec());
        assert_eq!(
            base32_decode(&secret.base32()).as_deref(),
            Some(&bytes[..]),
            "the base32 text is the secret"
        );
        let base: u64 = rand::random_range(1_000_000_000..4_000_000_000);
        for time in [base, base + 29, base + 30, base + 31, base + 3600] {
            assert_eq!(
                secret.code_at(time),
                Some(totp_of_step(&bytes, step_of(time))),
                "secret {}, T = {time}",
                hex(&bytes)
            );
        }
    }
}
