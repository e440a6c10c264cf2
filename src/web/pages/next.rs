//! Where a login sends the browser next: only ever a path on this site.

/// Longest `next` accepted; anything longer is not one of our pages.
const MAX_NEXT_LEN: usize = 2048;

/// `next` when it is a path on this site, so a login link cannot send the user elsewhere: it
/// must start with a single `/` (`//host` and `/\host` are other sites to a browser) and be a
/// well-formed URI path and query (RFC 3986 characters only, `%` only as an escape), so the
/// redirect to it is exactly what was asked for.
pub fn local_path(next: &str) -> Option<&str> {
    let bytes = next.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => {
            bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        }
        _ => b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b),
    });
    let local = well_formed
        && next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= MAX_NEXT_LEN;
    local.then_some(next)
}

/// `/login?next=<path>`, for a page that needs a signed-in user.
pub fn login_location(next: &str) -> String {
    with_next("/login", next)
}

/// `/reauth?next=<path>`, for an action that needs the password entered again.
pub fn reauth_location(next: &str) -> String {
    with_next("/reauth", next)
}

/// `page?next=<path>`, with `next` escaped; just `page` when `next` is not a local path.
fn with_next(page: &str, next: &str) -> String {
    if local_path(next).is_none() {
        return page.into();
    }
    let mut location = format!("{page}?next=");
    for byte in next.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            location.push(byte as char);
        } else {
            location.push_str(&format!("%{byte:02X}"));
        }
    }
    location
}
