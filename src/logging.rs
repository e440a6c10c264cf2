//! `log_format = "json"`: one JSON object per line on standard output, for log shippers, in
//! place of Rocket's coloured lines. A security event's fields (see `auth::events`) are top-level
//! keys of its line, next to `time`, `level`, `target` and `message`:
//!
//! ```json
//! {"time":"2026-12-02T14:05:09.123Z","level":"WARN","target":"jwtapp::security","kind":"login_failed","username":"alice","address":"203.0.113.9","detail":"wrong password","message":"security: login_failed user=\"alice\" ..."}
//! ```

use std::io::Write;

use log::kv::{Key, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};
use rocket::config::LogLevel;
use rocket::figment::Figment;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{AuthConfig, LogFormat};

/// Installs the JSON logger when the configuration asks for it, before Rocket would install its
/// own; returns the figment to serve with (colours off, so no escape codes reach a message). A
/// configuration that cannot be read is left to the start to report.
pub fn install(figment: Figment) -> Figment {
    let json = AuthConfig::load(&figment)
        .ok()
        .and_then(|loaded| loaded.config.log_format())
        == Some(LogFormat::Json);
    if !json {
        return figment;
    }
    let level: LogLevel = figment
        .extract_inner("log_level")
        .unwrap_or(LogLevel::Normal);
    let max = LevelFilter::from(level);
    if log::set_boxed_logger(Box::new(JsonLogger { max })).is_ok() {
        log::set_max_level(max);
    }
    figment.merge(("cli_colors", false))
}

/// Writes each record as one line of JSON.
struct JsonLogger {
    max: LevelFilter,
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

impl Log for JsonLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        if is_launch(metadata) {
            return true;
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
        let mut line = Map::new();
        let now = OffsetDateTime::now_utc();
        line.insert(
            "time".into(),
            now.format(&Rfc3339).unwrap_or_default().into(),
        );
        let level = if is_launch(record.metadata()) {
            Level::Info
        } else {
            record.level()
        };
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
        let Ok(mut text) = serde_json::to_string(&Value::Object(line)) else {
            return;
        };
        text.push('\n');
        // A log line that cannot be written has nowhere else to go.
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stdout().lock().flush();
    }
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
