//! The three settings of issue 13, checked at start like every other: `event_retention_days`
//! (1 to 36500), `log_format` (`text` or `json`) and `metrics_token` (printable, no spaces),
//! each also accepted at the top level of a profile, but not in both places at once.

use crate::support::{assert_refused_at_start, assert_starts, base_figment};

#[rocket::async_test]
async fn out_of_range_or_unknown_values_stop_the_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = || base_figment(dir.path());

    for days in [0, 36_501] {
        assert_refused_at_start(
            base().merge(("auth.event_retention_days", days)),
            "event_retention_days",
        )
        .await;
    }
    assert_refused_at_start(base().merge(("auth.log_format", "xml")), "log_format").await;
    for token in ["", "two words", "tab\there"] {
        assert_refused_at_start(base().merge(("auth.metrics_token", token)), "metrics_token").await;
    }
}

#[rocket::async_test]
async fn the_edges_of_the_ranges_and_both_formats_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = || base_figment(dir.path());

    for days in [1, 36_500] {
        assert_starts(base().merge(("auth.event_retention_days", days))).await;
    }
    for format in ["text", "json", "JSON"] {
        assert_starts(base().merge(("auth.log_format", format))).await;
    }
    assert_starts(base().merge(("auth.metrics_token", "a-token-of-printable-ascii"))).await;
}

#[rocket::async_test]
async fn each_key_may_be_set_at_the_top_level_but_not_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = || base_figment(dir.path());

    assert_starts(
        base()
            .merge(("event_retention_days", 7))
            .merge(("log_format", "json"))
            .merge(("metrics_token", "top-level-token")),
    )
    .await;
    assert_refused_at_start(base().merge(("log_format", "xml")), "log_format").await;
    for (key, value) in [
        ("event_retention_days", "7"),
        ("log_format", "json"),
        ("metrics_token", "top-level-token"),
    ] {
        assert_refused_at_start(
            base()
                .merge((key, value))
                .merge((format!("auth.{key}"), value)),
            key,
        )
        .await;
    }
}
