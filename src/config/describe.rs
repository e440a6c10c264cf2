//! Figment's errors, told without the values: any value may be (or, for a mangled
//! `ROCKET_AUTH`, contain) a secret or a private key.

use rocket::figment::error::{Actual, Kind};

use super::settings::ConfigError;

/// One line per problem, each naming the key as written in `Rocket.toml` (`auth.some_key`) and
/// where the bad value came from. Values are never repeated: any of them may be (or, for a
/// mangled `ROCKET_AUTH`, contain) a secret or a private key.
pub fn figment_error(error: rocket::figment::Error) -> ConfigError {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            // Environment variables arrive upper-case and the path may come innermost-first;
            // name the key the way an admin writes it.
            let mut path: Vec<String> = e.path.iter().map(|p| p.to_ascii_lowercase()).collect();
            path.retain(|p| p != "auth");
            let key = if path.is_empty() {
                "auth".to_owned()
            } else {
                format!("auth.{}", path.join("."))
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            let problem = if path.is_empty() && matches!(e.kind, Kind::InvalidType(..)) {
                "cannot be read as a table of settings; check its syntax, for example \
                 ROCKET_AUTH='{secret=\"...\",access_ttl_secs=900}' (the value is not shown: \
                 it may hold a secret)"
                    .to_owned()
            } else {
                describe_kind(&e.kind)
            };
            format!("{key}: {problem}{source}")
        })
        .collect();
    ConfigError::Unreadable(lines.join("; "))
}

/// The same for Rocket's own settings (`port`, `address`, `limits.json`, ...), which `serve`
/// reads before anything of jwtapp's: a line per problem, naming the key.
pub fn rocket_error(error: rocket::figment::Error) -> ConfigError {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            let path: Vec<String> = e.path.iter().map(|p| p.to_ascii_lowercase()).collect();
            let key = if path.is_empty() {
                "the configuration".to_owned()
            } else {
                path.join(".")
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            format!("{key}: {}{source}", describe_kind(&e.kind))
        })
        .collect();
    ConfigError::Unreadable(lines.join("; "))
}

/// What is wrong with a value, without the value.
fn describe_kind(kind: &Kind) -> String {
    match kind {
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", kind_of(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            format!(
                "expected {expected}, found {} that is not one",
                kind_of(actual)
            )
        }
        Kind::InvalidLength(length, expected) => {
            format!("expected {expected}, found {length} item(s)")
        }
        Kind::UnknownVariant(_, expected) => format!("must be one of {}", expected.join(", ")),
        Kind::UnknownField(field, _) => format!("has an unknown field `{field}`"),
        Kind::MissingField(field) => format!("is missing `{field}`"),
        Kind::DuplicateField(field) => format!("has `{field}` twice"),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "is out of range".to_owned(),
        Kind::Unsupported(actual) | Kind::UnsupportedKey(actual, _) => {
            format!("cannot be {}", kind_of(actual))
        }
        // Messages come from deserializers and may quote the input.
        Kind::Message(_) => "is not a valid value".to_owned(),
    }
}

/// The kind of a value as the error reports it, never its content.
fn kind_of(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a floating-point number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit => "an empty value",
        Actual::Option => "an optional value",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value of another kind",
    }
}
