//! The report: budgets, the results table, and where it was measured.

use crate::Settings;
use crate::harness::Comparison;
use crate::rows::{Micro, Rate};

/// The middle value (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The value below which `share` of the values lie (nearest rank).
pub fn percentile(values: &[f64], share: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub enum Budget {
    AtLeast(f64),
    AtMost(f64),
    Between(f64, f64),
}

impl Budget {
    fn met(&self, value: f64) -> bool {
        match *self {
            Budget::AtLeast(min) => value >= min,
            Budget::AtMost(max) => value <= max,
            Budget::Between(min, max) => (min..=max).contains(&value),
        }
    }

    fn describe(&self) -> String {
        match *self {
            Budget::AtLeast(min) => format!("≥ {min:.2}"),
            Budget::AtMost(max) => format!("≤ {max:.2}"),
            Budget::Between(min, max) => format!("{min:.2}–{max:.2}"),
        }
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub struct Report {
    rows: Vec<[String; 5]>,
    pub errors: u64,
    pub all_met: bool,
    settings: String,
}

impl Report {
    pub fn new(settings: &Settings) -> Report {
        Report {
            rows: Vec::new(),
            errors: 0,
            all_met: true,
            settings: format!(
                "wrk -t2 -c{} -d{}s, {} alternating rounds per comparison{}",
                settings.connections,
                settings.secs,
                settings.rounds,
                if settings.secs < 10 || settings.connections < 16 {
                    " (shorter runs or fewer connections than the budget asks: not figures to quote)"
                } else {
                    ""
                }
            ),
        }
    }

    fn push(&mut self, row: &str, measures: &str, result: String, budget: String, met: bool) {
        self.all_met &= met;
        self.rows.push([
            row.to_owned(),
            measures.to_owned(),
            result,
            budget,
            if met { "met" } else { "**not met**" }.to_owned(),
        ]);
    }

    pub fn ratio(&mut self, row: &str, measures: &str, comparison: &Comparison, budget: Budget) {
        let ratios = comparison.ratios();
        let value = median(ratios.clone());
        let detail = format!(
            "**{value:.3}** (rounds: {}; {:.0} vs {:.0} req/s)",
            ratios
                .iter()
                .map(|r| format!("{r:.3}"))
                .collect::<Vec<_>>()
                .join(", "),
            median(comparison.measured.clone()),
            median(comparison.baseline.clone()),
        );
        let met = budget.met(value);
        self.push(row, measures, detail, budget.describe(), met);
    }

    pub fn ratio_value(
        &mut self,
        row: &str,
        measures: &str,
        value: f64,
        detail: String,
        budget: Budget,
    ) {
        let met = budget.met(value);
        self.push(
            row,
            measures,
            format!("**{value:.3}** ({detail})"),
            budget.describe(),
            met,
        );
    }

    /// A row that could not be measured here, said in the table rather than left out.
    pub fn skipped(&mut self, row: &str, why: &str) {
        self.rows.push([
            row.to_owned(),
            format!("skipped: {why}"),
            "–".into(),
            "–".into(),
            "skipped".into(),
        ]);
    }

    pub fn rate(&mut self, row: &str, measures: &str, rate: &Rate, floor: f64) {
        let met = rate.per_sec >= floor;
        self.push(
            row,
            measures,
            format!("**{:.0} req/s**", rate.per_sec),
            format!("≥ {floor:.0}/s"),
            met,
        );
    }

    /// The budget covers the api-auth runs, the start with the big database, and the size the
    /// server settles at after a burst of logins; the burst's own peak is shown for what it is:
    /// argon2 needs its working memory for every hash in flight.
    pub fn memory(
        &mut self,
        api_peak_kib: u64,
        start_big_kib: u64,
        (burst_peak_kib, after_burst_kib): (u64, u64),
        logins: usize,
        limit_kib: u64,
    ) {
        let met = [api_peak_kib, start_big_kib, after_burst_kib]
            .iter()
            .all(|&kib| kib <= limit_kib);
        self.push(
            "memory",
            &format!(
                "peak RSS of the server during the api-auth runs; RSS at start with the 1M-session \
                 database; RSS after {logins} logins at once (their peak, argon2's memory for each \
                 hash in flight, in brackets)"
            ),
            format!(
                "**{}**; **{}**; **{}** ({})",
                mib(api_peak_kib),
                mib(start_big_kib),
                mib(after_burst_kib),
                mib(burst_peak_kib)
            ),
            format!("≤ {}", mib(limit_kib)),
            met,
        );
    }

    pub fn render(&mut self, micro: &[Micro]) -> String {
        let errors = self.errors;
        self.push(
            "errors",
            "non-2xx responses and socket errors in every run above",
            format!("**{errors}**"),
            "0".into(),
            errors == 0,
        );
        let mut out =
            String::from("| Row | Measures | Result | Budget | |\n|---|---|---|---|---|\n");
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out.push_str(&format!("\n{}; {}.\n", self.settings, machine()));
        out.push_str("\n| In-process, one call | Time |\n|---|---|\n");
        for m in micro {
            out.push_str(&format!("| {} | {} |\n", m.label, nanos(m.nanos)));
        }
        out
    }
}

fn nanos(value: f64) -> String {
    if value >= 1000.0 {
        format!("{:.1} µs", value / 1000.0)
    } else {
        format!("{value:.0} ns")
    }
}

/// Cores, memory and CPU model, from /proc.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown memory".into());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores ({model}), {memory}; wrk and the server share the cores")
}
