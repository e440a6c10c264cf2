//! Which database a setting names: a `postgres://` (or `postgresql://`) URL, or else a SQLite
//! file.

use std::path::PathBuf;

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL; it may carry a password, so it is never printed whole.
    Postgres(String),
}

impl Location {
    /// The database `setting` names.
    pub fn parse(setting: &str) -> Location {
        let lower = setting.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Location::Postgres(setting.to_owned())
        } else {
            Location::Sqlite(PathBuf::from(setting))
        }
    }

    /// The location as it may be shown: a URL's password is replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `scheme://user:password@host/...` as `scheme://user:***@host/...`; a password given as a
/// query parameter (`?password=...`) is hidden too.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    if scheme.is_empty() {
        format!("{authority}{tail}")
    } else {
        format!("{scheme}://{authority}{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://jwt:s3cret@db.example:5432/jwtapp"),
            "postgres://jwt:***@db.example:5432/jwtapp"
        );
        assert_eq!(
            redact("postgresql://db/jwtapp?user=jwt&password=s3cret&sslmode=require"),
            "postgresql://db/jwtapp?user=jwt&password=***&sslmode=require"
        );
        assert_eq!(
            redact("postgres://jwt@db/jwtapp"),
            "postgres://jwt@db/jwtapp"
        );
        assert_eq!(
            Location::parse("POSTGRES://a:b@c/d"),
            Location::Postgres("POSTGRES://a:b@c/d".into())
        );
        assert_eq!(
            Location::parse("data/jwtapp.sqlite3"),
            Location::Sqlite("data/jwtapp.sqlite3".into())
        );
        assert!(!format!("{:?}", Location::parse("postgres://u:pw@h/d")).contains("pw"));
    }
}
