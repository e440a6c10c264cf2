//! An error and its causes, on one line: `the database failed: SQLite: disk I/O error`.

use std::error::Error;

/// The error and its causes, outermost first, separated by `: `.
pub fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
