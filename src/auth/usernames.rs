//! Usernames: what may be one, and the one canonical form that identifies an account.
//!
//! Two spellings that look alike to people (`VictimX` and `victimx`, or `Kevin` written with
//! the Kelvin sign U+212A) must be one account: otherwise the holder of one could guess the
//! other's password under a throttling key of their own. So every username has a canonical form,
//! Unicode NFKC followed by lower case. It is unique among users; login looks accounts up by it
//! and throttling counts failures under it. The spelling an administrator chose is kept for
//! display (and as the tokens' `sub`).

use unicode_normalization::UnicodeNormalization;

/// Longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// Why a username is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username must be 1 to {MAX_USERNAME_CHARS} characters long")]
    Length,
    #[error("a username may not start or end with whitespace")]
    OuterWhitespace,
    #[error("a username may not contain control characters")]
    Control,
    /// Characters that show nothing (zero-width spaces, direction marks, blank symbols): two
    /// names differing only by them look the same.
    #[error("a username may not contain invisible characters (such as zero-width spaces)")]
    Invisible,
}

/// Characters that look like nothing but are not whitespace or format characters.
const BLANKS: &[char] = &[
    '\u{115F}', // Hangul choseong filler
    '\u{1160}', // Hangul jungseong filler
    '\u{2800}', // Braille pattern blank
    '\u{3164}', // Hangul filler
    '\u{FFA0}', // half-width Hangul filler
];

/// Unicode format characters (zero-width spaces and joiners, direction marks, the BOM, soft
/// hyphens, tag characters) and blank symbols.
fn is_invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format || BLANKS.contains(&c)
}

/// Checks a new username: 1 to 64 characters, no control or invisible characters, no whitespace
/// at either end. (Names that existed before these rules keep working; only new ones are
/// checked.)
pub fn validate(name: &str) -> Result<(), UsernameError> {
    let length = name.chars().count();
    if length == 0 || length > MAX_USERNAME_CHARS {
        return Err(UsernameError::Length);
    }
    if name.chars().any(char::is_control) {
        return Err(UsernameError::Control);
    }
    if name.chars().any(is_invisible) {
        return Err(UsernameError::Invisible);
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err(UsernameError::OuterWhitespace);
    }
    Ok(())
}

/// The canonical form of a username: NFKC, then lower case. Whatever is typed at a login is
/// looked up by this, so it is computed for any input, valid or not; input longer than any
/// username can be is cut first, which bounds the work one request can cause.
pub fn canonical(name: &str) -> String {
    // NFKC can turn one character into up to 18, so the cut is generous but finite.
    let bounded: String = name.chars().take(4 * MAX_USERNAME_CHARS).collect();
    bounded.nfkc().flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_one_canonical_form() {
        assert_eq!(canonical("VictimX"), "victimx");
        // U+212A KELVIN SIGN is K under NFKC.
        assert_eq!(canonical("\u{212A}evin"), "kevin");
        // Full-width letters and ligatures fold too.
        assert_eq!(canonical("ＡＤＭＩＮ"), "admin");
        assert_eq!(canonical("ﬁle"), "file");
        assert_ne!(canonical("alice"), canonical("alice2"));
    }

    #[test]
    fn new_usernames_are_checked() {
        assert_eq!(validate("alice"), Ok(()));
        assert_eq!(validate("Jane Doe"), Ok(()));
        assert_eq!(validate(""), Err(UsernameError::Length));
        assert_eq!(validate(&"a".repeat(65)), Err(UsernameError::Length));
        assert_eq!(validate(&"é".repeat(64)), Ok(()));
        assert_eq!(validate(" alice"), Err(UsernameError::OuterWhitespace));
        assert_eq!(validate("alice\u{a0}"), Err(UsernameError::OuterWhitespace));
        assert_eq!(validate("al\tice"), Err(UsernameError::Control));
        assert_eq!(validate("al\u{7f}ice"), Err(UsernameError::Control));
        assert_eq!(validate("alice\n"), Err(UsernameError::Control));
        for invisible in [
            "ali\u{200B}ce",
            "ali\u{AD}ce",
            "\u{FEFF}alice",
            "ali\u{202E}ce",
            "alice\u{200D}",
            "\u{2800}alice",
            "\u{3164}",
        ] {
            assert_eq!(
                validate(invisible),
                Err(UsernameError::Invisible),
                "{invisible:?}"
            );
        }
    }
}
