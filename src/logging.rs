//! jwtapp's logger, installed before Rocket would install its own: the server's log on standard
//! output, a command's on standard error (standard output is the command's answer).
//!
//! Two formats (`log_format`): `"text"`, lines like Rocket's own (`Warning: ...`), and `"json"`,
//! one object per line for log shippers. A security event's fields (see `auth::events`) are
//! top-level keys of its line, next to `time`, `level`, `target` and `message`:
//!
//! ```json
//! {"time":"2026-12-02T14:05:09.123Z","level":"WARN","target":"jwtapp::security","kind":"login_failed","username":"alice","address":"203.0.113.9","detail":"wrong password","message":"security: login_failed user=\"alice\" ..."}
//! ```
//!
//! Whatever the level, records that carry credentials are never written: Rocket's dumps of each
//! request and response (`rocket::server`, debug level: every header, `Authorization` and
//! `Cookie` included) and its form parser's trace (`rocket::form::parser`: every field, passwords
//! included). Rocket's own logger cannot be filtered from outside, which is why jwtapp has one.

use std::io::Write;

use log::kv::{Key, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};
use rocket::config::LogLevel;
use rocket::figment::Figment;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{AuthConfig, LogFormat};

/// Installs the server's logger on standard output, at the configured `log_level` and in the
/// configured `log_format`; returns the figment to serve with (colours off for JSON, so no
/// escape code reaches a message). A configuration that cannot be read gets the text format:
/// the start reports what is wrong with it.
pub fn install(figment: Figment) -> Figment {
    let format = format_of(&figment);
    let level: LogLevel = figment
        .extract_inner("log_level")
        .unwrap_or(LogLevel::Normal);
    let max = LevelFilter::from(level);
    set(Logger {
        format,
        max,
        to_stderr: false,
    });
    match format {
        LogFormat::Json => figment.merge(("cli_colors", false)),
        LogFormat::Text => figment,
    }
}

/// Installs a command's logger on standard error: warnings and errors, among them the security
/// events the command records, in the configured format.
pub fn install_for_command(figment: &Figment) {
    set(Logger {
        format: format_of(figment),
        max: LevelFilter::Warn,
        to_stderr: true,
    });
}

fn format_of(figment: &Figment) -> LogFormat {
    AuthConfig::load(figment)
        .ok()
        .and_then(|loaded| loaded.config.log_format())
        .unwrap_or(LogFormat::Text)
}

fn set(logger: Logger) {
    let max = logger.max;
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max);
    }
}

/// Writes each record as one line, of text or of JSON.
struct Logger {
    format: LogFormat,
    max: LevelFilter,
    to_stderr: bool,
}

/// Rocket prints its launch summary whatever the level; so does this logger.
fn is_launch(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("rocket::launch")
}

/// Below the debug level, the libraries' chatter (connection handling, statement logging) is
/// left out, as Rocket's own logger leaves out hyper's; their warnings and errors still show.
fn is_ours(target: &str) -> bool {
    target.starts_with("jwtapp") || target.starts_with("rocket") || target.starts_with('_')
}

/// Records that hold a request's or a form's contents: tokens, cookies, passwords.
fn carries_credentials(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    target.starts_with("rocket::form::parser")
        || (target.starts_with("rocket::server") && metadata.level() >= Level::Debug)
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        if carries_credentials(metadata) {
            return false;
        }
        if is_launch(metadata) {
            return !self.to_stderr;
        }
        metadata.level() <= self.max
            && (self.max >= LevelFilter::Debug
                || is_ours(metadata.target())
                || metadata.level() <= Level::Warn)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Rocket logs its launch summary at warning level to get it past `critical`: it is
        // information.
        let level = if is_launch(record.metadata()) {
            Level::Info
        } else {
            record.level()
        };
        let mut line = match self.format {
            LogFormat::Text => text_line(record, level),
            LogFormat::Json => json_line(record, level),
        };
        line.push('\n');
        // A log line that cannot be written has nowhere else to go.
        let _ = if self.to_stderr {
            std::io::stderr().lock().write_all(line.as_bytes())
        } else {
            std::io::stdout().lock().write_all(line.as_bytes())
        };
    }

    fn flush(&self) {
        let _ = std::io::stdout().lock().flush();
        let _ = std::io::stderr().lock().flush();
    }
}

/// A line as Rocket writes it: errors and warnings say so; a target ending in `_` is Rocket's
/// way of indenting a detail under the line before.
fn text_line(record: &Record<'_>, level: Level) -> String {
    let message = record.args().to_string();
    if record.target().ends_with('_') {
        return format!("   >> {message}");
    }
    match level {
        Level::Error => format!("Error: {message}"),
        Level::Warn => format!("Warning: {message}"),
        _ => message,
    }
}

fn json_line(record: &Record<'_>, level: Level) -> String {
    let mut line = Map::new();
    let now = OffsetDateTime::now_utc();
    line.insert(
        "time".into(),
        now.format(&Rfc3339).unwrap_or_default().into(),
    );
    line.insert("level".into(), level.as_str().into());
    line.insert("target".into(), record.target().into());
    let mut fields = EventFields(None);
    let _ = record.key_values().visit(&mut fields);
    if let Some(Value::Object(event)) = fields.0 {
        for (key, value) in event {
            // The line's own keys are never overwritten by an event's.
            line.entry(key).or_insert(value);
        }
    }
    line.insert("message".into(), record.args().to_string().into());
    serde_json::to_string(&Value::Object(line)).unwrap_or_default()
}

/// The `event` key of a security event's record: its fields, as JSON.
struct EventFields(Option<Value>);

impl<'kvs> VisitSource<'kvs> for EventFields {
    fn visit_pair(
        &mut self,
        key: Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        if key.as_str() == "event" {
            self.0 = serde_json::from_str(&value.to_string()).ok();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(target: &str, level: Level) -> Metadata<'_> {
        Metadata::builder().target(target).level(level).build()
    }

    #[test]
    fn records_that_carry_credentials_are_never_written() {
        let logger = Logger {
            format: LogFormat::Text,
            max: LevelFilter::Trace,
            to_stderr: false,
        };
        assert!(!logger.enabled(&metadata("rocket::server", Level::Debug)));
        assert!(!logger.enabled(&metadata("rocket::server::_", Level::Trace)));
        assert!(!logger.enabled(&metadata("rocket::form::parser", Level::Trace)));
        assert!(logger.enabled(&metadata("rocket::server", Level::Info)));
        assert!(logger.enabled(&metadata("jwtapp::security", Level::Warn)));
        assert!(logger.enabled(&metadata("sqlx::query", Level::Debug)));
    }

    #[test]
    fn the_level_and_the_libraries_chatter() {
        let logger = Logger {
            format: LogFormat::Json,
            max: LevelFilter::Warn,
            to_stderr: false,
        };
        assert!(logger.enabled(&metadata("jwtapp::security", Level::Warn)));
        assert!(!logger.enabled(&metadata("jwtapp::startup", Level::Info)));
        assert!(logger.enabled(&metadata("rocket::launch", Level::Warn)));
        assert!(logger.enabled(&metadata("sqlx::pool", Level::Warn)));
        let normal = Logger {
            max: LevelFilter::Info,
            ..logger
        };
        assert!(normal.enabled(&metadata("jwtapp::startup", Level::Info)));
        assert!(!normal.enabled(&metadata("sqlx::query", Level::Info)));
    }
}
