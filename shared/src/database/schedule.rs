//! Static roles' `rotation_schedule` and `rotation_window` (Vault 1.15+'s
//! `builtin/logical/database` schedule; OpenBao has neither): a standard 5-field cron
//! expression (minute, hour, day of month, month, day of week) read in UTC, and a window
//! of at least [`MIN_WINDOW`] seconds after each schedule time in which a rotation may
//! start.
//!
//! The accepted forms are those of Vault's parser (robfig/cron with the five standard
//! fields and no descriptors): `*`, numbers, `a-b` ranges, `/n` steps (`*/15`,
//! `10-50/20`, `5/15`), `,` lists, `?` for `*`, days of the week 0 (Sunday) to 6, and
//! the English three-letter names of months (`JAN`..`DEC`, month field) and days
//! (`SUN`..`SAT`, day-of-week field), in any case. Parsing and the next-time search are croner's; the
//! extensions croner knows and Vault's parser does not (`@daily`, `L`, `W`, `#`, `+`,
//! a sixth field) are refused before it sees them. As in cron, when both day fields
//! are restricted a day matching either one matches.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Vault's shortest `rotation_window`, seconds (`minRotationWindowSeconds`).
pub const MIN_WINDOW: i64 = 3600;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A parsed `rotation_schedule`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    cron: Cron,
}

/// Why a field is not one of Vault's forms; `None` when it is.
fn field_problem(i: usize, field: &str) -> Option<String> {
    let names: &[&str] = match i {
        3 => &MONTHS,
        4 => &DAYS,
        _ => &[],
    };
    for word in field
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
    {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(word)) {
            return Some(format!("unknown name {word:?}"));
        }
    }
    let symbols_ok = field
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '?' | '/' | ',' | '-'));
    if !symbols_ok || field.split(',').any(|p| p.is_empty() || p.starts_with('/')) {
        return Some(format!("invalid field {field:?}"));
    }
    // Days of the week are 0 (Sunday) to 6; croner also reads 7 as Sunday.
    let beyond_saturday = |part: &str| {
        let range = part.split('/').next().unwrap_or_default();
        range
            .split('-')
            .any(|n| n.parse::<u32>().is_ok_and(|n| n > 6))
    };
    if i == 4 && field.split(',').any(beyond_saturday) {
        return Some(format!("day of week beyond 6 in {field:?}"));
    }
    None
}

impl Schedule {
    /// Parses a 5-field cron expression; the error says why it is not one (Vault's
    /// write answers `could not parse rotation_schedule: ...`). An expression that
    /// never fires (`0 0 30 2 *`) is refused too.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            ));
        }
        if let Some(p) = fields
            .iter()
            .enumerate()
            .find_map(|(i, f)| field_problem(i, f))
        {
            return Err(p);
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .sloppy_ranges(true)
            .build()
            // `?` is `*` in every field (robfig's reading; croner knows it in the day
            // fields only).
            .parse(&fields.join(" ").replace('?', "*"))
            .map_err(|e| e.to_string())?;
        let s = Schedule {
            text: text.trim().to_owned(),
            cron,
        };
        // Every valid expression fires within 8 years (29 February on a given
        // weekday); one that does not is an impossible date.
        match s.next_after(0) {
            Some(_) => Ok(s),
            None => Err("the schedule never fires".into()),
        }
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first schedule time strictly after `t` (Unix seconds, UTC; times fall on
    /// whole minutes); `None` when there is none within croner's search limit.
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let start: DateTime<Utc> = DateTime::from_timestamp(t, 0)?;
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|d| d.timestamp())
    }

    /// Whether a rotation may start at `now` under `window` seconds (0: no window,
    /// always): some schedule time `t` has `t <= now < t + window`, that is the first
    /// schedule time after `now - window` is not after `now` (Vault's
    /// `IsInsideRotationWindow`).
    pub fn window_open(&self, now: i64, window: i64) -> bool {
        window <= 0 || self.next_after(now - window).is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a UTC date-time `YYYY-MM-DDTHH:MM:SSZ`.
    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn next(expr: &str, from: &str) -> String {
        let t = Schedule::parse(expr).unwrap().next_after(at(from)).unwrap();
        crate::clock::rfc3339(t)
    }

    #[test]
    fn next_times_cross_hour_day_month_and_year_boundaries_in_utc() {
        assert_eq!(
            next("* * * * *", "2026-12-31T23:59:30Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("* * * * *", "2026-06-01T10:00:00Z"),
            "2026-06-01T10:01:00Z",
            "strictly after"
        );
        assert_eq!(
            next("0 0 * * SAT", "2026-12-07T08:00:00Z"),
            "2026-12-12T00:00:00Z"
        );
        assert_eq!(
            next("30 2 31 * *", "2026-04-15T00:00:00Z"),
            "2026-05-31T02:30:00Z",
            "April has no 31st"
        );
        assert_eq!(
            next("0 12 29 feb *", "2026-03-01T00:00:00Z"),
            "2028-02-29T12:00:00Z"
        );
        assert_eq!(
            next("*/15 9-17 * * mon-fri", "2026-12-04T17:50:00Z"),
            "2026-12-07T09:00:00Z",
            "Friday evening to Monday morning"
        );
        assert_eq!(
            next("5/20 * * * *", "2026-01-01T00:46:00Z"),
            "2026-01-01T01:05:00Z"
        );
        // Day of month or day of week (cron's rule when both are restricted).
        assert_eq!(
            next("0 0 13 * FRI", "2026-12-01T00:00:00Z"),
            "2026-12-04T00:00:00Z"
        );
        // Local daylight-saving changes do not exist in UTC: 02:30 on the last Sunday
        // of March is an ordinary time.
        assert_eq!(
            next("30 2 * * *", "2026-03-29T00:00:00Z"),
            "2026-03-29T02:30:00Z"
        );
    }

    #[test]
    fn vaults_forms_parse_and_others_are_refused() {
        for ok in [
            "* * * * *",
            "0 0 * * SAT",
            "1 0 * * *",
            "0,30 */2 1-15 JAN-jun ?",
            "0 0 ? * 1-5",
            "? ? ? ? ?",
            "0 0 * * */7",
            " 0 0 1 1 * ",
        ] {
            assert!(Schedule::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "* * * *",
            "0 * * * * *",
            "@daily",
            "@every 1h",
            "0 0 L * *",
            "0 0 15W * *",
            "0 0 * * 5L",
            "0 0 * * MON#2",
            "0 0 * * +MON",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "MON * * * *",
            "* * * SAT *",
            "0 0 1 JANUARY *",
            "/5 * * * *",
            "1,,2 * * * *",
            "0 0 * * 7",
            "0 0 * * 5-7",
            "0 0 30 2 *",
            "a * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Schedule::parse(" 0 0 1 1 * ").unwrap().as_str(),
            "0 0 1 1 *"
        );
    }

    #[test]
    fn a_window_is_open_from_each_schedule_time_for_its_length() {
        let s = Schedule::parse("0 0 * * *").unwrap();
        let midnight = at("2026-12-08T00:00:00Z");
        assert!(s.window_open(midnight, 3600));
        assert!(s.window_open(midnight + 3599, 3600));
        assert!(!s.window_open(midnight + 3600, 3600), "the end is excluded");
        assert!(!s.window_open(midnight - 1, 3600));
        assert!(s.window_open(midnight - 1, 0), "no window: always");
        assert!(s.window_open(midnight + 80_000, 0));
        // A window longer than the interval between schedule times is always open.
        let every = Schedule::parse("* * * * *").unwrap();
        assert!(every.window_open(midnight + 17, MIN_WINDOW));
    }
}
