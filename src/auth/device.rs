//! A readable name for a user agent: "Chrome 156 on Linux", for the pages that show where an
//! account was used. Parsed with woothee, whose data is built in.

use woothee::parser::Parser;
use woothee::woothee::VALUE_UNKNOWN;

/// Longest user agent looked at: the parser's work stays bounded whatever a client sends.
const MAX_USER_AGENT: usize = 512;

/// "Browser version on system" (or as much of it as the user agent tells); `None` when it
/// tells nothing.
pub fn describe(user_agent: &str) -> Option<String> {
    let user_agent = match user_agent.char_indices().nth(MAX_USER_AGENT) {
        Some((end, _)) => &user_agent[..end],
        None => user_agent,
    };
    let parsed = Parser::new().parse(user_agent)?;
    if parsed.name == VALUE_UNKNOWN {
        return None;
    }
    // Crawlers and HTTP libraries put their name where a browser's version would be.
    if matches!(parsed.category, "crawler" | "misc") && parsed.name == "HTTP Library" {
        return Some(parsed.version.to_string());
    }
    let major = parsed.version.split('.').next().unwrap_or_default();
    let known_os = parsed.os != VALUE_UNKNOWN;
    Some(
        match (major.is_empty() || major == VALUE_UNKNOWN, known_os) {
            (false, true) => format!("{} {major} on {}", parsed.name, parsed.os),
            (true, true) => format!("{} on {}", parsed.name, parsed.os),
            (false, false) => format!("{} {major}", parsed.name),
            (true, false) => parsed.name.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn browsers_are_named_with_their_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(describe(chrome).as_deref(), Some("Chrome 156 on Linux"));
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:142.0) Gecko/20100101 \
                       Firefox/142.0";
        assert_eq!(
            describe(firefox).as_deref(),
            Some("Firefox 142 on Windows 10")
        );
        assert_eq!(describe("curl/8.5.0").as_deref(), Some("curl"));
        assert_eq!(describe(""), None);
        assert_eq!(describe(&"x".repeat(10_000)), None);
    }
}
