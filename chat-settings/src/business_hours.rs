//! `CHAT_BUSINESS_HOURS`: when the desk is staffed, in the tenant's own time zone.
//!
//! ```json
//! {"timezone": "America/Sao_Paulo",
//!  "weekly": [{"day": "mon", "from": "09:00", "to": "18:00"}, …],
//!  "holidays": ["2026-12-25"]}
//! ```
//!
//! Unset means always open. Here, in the settings contract, because the chat-server parses it at
//! start and the Tenant validation must accept exactly what the chat-server starts on.
//!
//! What the hours mean (decided here):
//! - Each `weekly` entry opens the desk on that weekday from `from` (inclusive) to `to`
//!   (exclusive) on the local wall clock of `timezone`. `to` may be `24:00` (end of the day).
//!   Several entries on one day may be given (a lunch break); they add up.
//! - An overnight opening is two entries, `fri 22:00–24:00` and `sat 00:00–06:00`: they join
//!   without a gap, so `from` must be before `to` within an entry.
//! - A holiday closes its whole local date, also the part of an overnight opening that falls on
//!   it.
//! - Daylight saving: the wall clock decides. On a day whose clock jumps forward over an opening
//!   time, the desk opens at the jump (the first instant the clock reads past it); on a day whose
//!   clock falls back over it, at its first occurrence. An opening that lies wholly inside a
//!   skipped hour does not happen that day.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::Deserialize;

/// Days looked ahead for the next opening: a year of holidays cannot hide one past this.
const HORIZON_DAYS: u64 = 400;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    timezone: Tz,
    /// Per weekday (Monday first), openings as minutes of the day, `[from, to)`.
    weekly: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    timezone: String,
    weekly: Vec<RawOpening>,
    #[serde(default)]
    holidays: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpening {
    day: String,
    from: String,
    to: String,
}

/// clap's value parser for `CHAT_BUSINESS_HOURS`.
pub fn business_hours(s: &str) -> Result<BusinessHours, String> {
    BusinessHours::parse(s)
}

impl BusinessHours {
    /// Parses and checks the JSON; the error names the part that is wrong.
    pub fn parse(json: &str) -> Result<Self, String> {
        let raw: Raw = serde_json::from_str(json).map_err(|e| {
            format!(
                "not the expected JSON ({e}); e.g. {{\"timezone\":\"America/Sao_Paulo\",\
                 \"weekly\":[{{\"day\":\"mon\",\"from\":\"09:00\",\"to\":\"18:00\"}}],\
                 \"holidays\":[\"2026-12-25\"]}}"
            )
        })?;
        let timezone: Tz = raw.timezone.parse().map_err(|_| {
            format!(
                "timezone {:?} is not a known IANA time zone (e.g. America/Sao_Paulo, \
                 Europe/Lisbon, UTC)",
                raw.timezone
            )
        })?;
        if raw.weekly.is_empty() {
            return Err("weekly lists no opening hours; to be always open, leave \
                        CHAT_BUSINESS_HOURS unset"
                .into());
        }
        let mut weekly: [Vec<(u32, u32)>; 7] = Default::default();
        for (i, o) in raw.weekly.iter().enumerate() {
            let day = DAYS.iter().position(|d| *d == o.day).ok_or_else(|| {
                format!(
                    "weekly[{i}].day {:?} is not one of {}",
                    o.day,
                    DAYS.join(", ")
                )
            })?;
            let from = minutes(&o.from, false).ok_or_else(|| {
                format!("weekly[{i}].from {:?} is not HH:MM (00:00-23:59)", o.from)
            })?;
            let to = minutes(&o.to, true)
                .ok_or_else(|| format!("weekly[{i}].to {:?} is not HH:MM (00:01-24:00)", o.to))?;
            if from >= to {
                return Err(format!(
                    "weekly[{i}] ({}): from {} is not before to {}; an opening past midnight is \
                     two entries, e.g. fri 22:00-24:00 and sat 00:00-06:00",
                    o.day, o.from, o.to
                ));
            }
            weekly[day].push((from, to));
        }
        for day in &mut weekly {
            day.sort_unstable();
        }
        let mut holidays = BTreeSet::new();
        for (i, h) in raw.holidays.iter().enumerate() {
            let date = (h.len() == 10)
                .then(|| NaiveDate::parse_from_str(h, "%Y-%m-%d").ok())
                .flatten()
                .ok_or_else(|| format!("holidays[{i}] {h:?} is not a date (YYYY-MM-DD)"))?;
            holidays.insert(date);
        }
        Ok(Self {
            timezone,
            weekly,
            holidays,
        })
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// Whether `now` falls inside the hours.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let local = now.with_timezone(&self.timezone).naive_local();
        let date = local.date();
        if self.holidays.contains(&date) {
            return false;
        }
        let minute = local.hour() * 60 + local.minute();
        self.openings(date)
            .iter()
            .any(|&(from, to)| from <= minute && minute < to)
    }

    /// When the hours next begin after `now`, or `None` when `now` is inside them (or no opening
    /// comes within [`HORIZON_DAYS`]).
    pub fn next_open_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(now) {
            return None;
        }
        let today = now.with_timezone(&self.timezone).date_naive();
        // From yesterday: with a clock set back, an opening of yesterday's date can still be
        // ahead. Each date's openings are in order, so the first one ahead is the answer.
        let first = today.checked_sub_days(Days::new(1))?;
        for offset in 0..=HORIZON_DAYS {
            let date = first.checked_add_days(Days::new(offset))?;
            if self.holidays.contains(&date) {
                continue;
            }
            for &(from, _) in self.openings(date) {
                let Some(at) = self.first_instant_at_or_after(date, from) else {
                    continue;
                };
                // An opening wholly inside a skipped hour never happens; one already begun is not
                // ahead.
                if at > now && self.is_open(at) {
                    return Some(at);
                }
            }
        }
        None
    }

    fn openings(&self, date: NaiveDate) -> &[(u32, u32)] {
        &self.weekly[date.weekday().num_days_from_monday() as usize]
    }

    /// The first instant the wall clock of `date` reads `minute` or later: its first occurrence
    /// when the clock falls back over it, the end of the jump when the clock skips it.
    fn first_instant_at_or_after(&self, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
        let wall = date.and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)?);
        // Jumps are whole minutes and at most a few hours long.
        for skipped in 0..=(24 * 60) {
            let probe = wall + chrono::Duration::minutes(skipped);
            match self.timezone.from_local_datetime(&probe) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return Some(t.with_timezone(&Utc));
                }
                LocalResult::None => {}
            }
        }
        None
    }
}

/// `HH:MM` as minutes of the day; `24:00` only when `end`.
fn minutes(s: &str, end: bool) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if end => Some(24 * 60),
        (0..=23, 0..=59) if !end || h * 60 + m > 0 => Some(h * 60 + m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hours(timezone: &str, weekly: &[(&str, &str, &str)], holidays: &[&str]) -> BusinessHours {
        let weekly: Vec<_> = weekly
            .iter()
            .map(|(d, f, t)| serde_json::json!({"day": d, "from": f, "to": t}))
            .collect();
        let json =
            serde_json::json!({"timezone": timezone, "weekly": weekly, "holidays": holidays});
        BusinessHours::parse(&json.to_string()).unwrap()
    }

    fn every_day(
        from: &'static str,
        to: &'static str,
    ) -> Vec<(&'static str, &'static str, &'static str)> {
        DAYS.iter().map(|d| (*d, from, to)).collect()
    }

    #[test]
    fn office_hours_in_sao_paulo_open_and_close_on_the_local_clock() {
        let h = hours("America/Sao_Paulo", &[("mon", "09:00", "18:00")], &[]);
        // Monday 2026-12-07, UTC-3 (no DST in Brazil since 2019).
        assert!(!h.is_open(utc("2026-12-07T11:59:59Z")), "08:59:59 local");
        assert!(h.is_open(utc("2026-12-07T12:00:00Z")), "09:00 local");
        assert!(h.is_open(utc("2026-12-07T20:59:59Z")), "17:59:59 local");
        assert!(!h.is_open(utc("2026-12-07T21:00:00Z")), "18:00 local");
        assert_eq!(
            h.next_open_at(utc("2026-12-07T13:00:00Z")),
            None,
            "open now"
        );
        assert_eq!(
            h.next_open_at(utc("2026-12-07T21:00:00Z")),
            Some(utc("2026-12-14T12:00:00Z")),
            "next Monday 09:00 local"
        );
        assert_eq!(
            h.next_open_at(utc("2026-12-07T02:00:00Z")),
            Some(utc("2026-12-07T12:00:00Z")),
            "Sunday 23:00 local: Monday 09:00"
        );
    }

    #[test]
    fn the_next_opening_after_a_spring_forward_is_at_the_new_offset() {
        // Berlin goes from UTC+1 to UTC+2 at 02:00 on Sunday 2026-03-29.
        let h = hours("Europe/Berlin", &every_day("09:00", "18:00"), &[]);
        let saturday_evening = utc("2026-03-28T19:00:00Z"); // 20:00 CET
        assert!(!h.is_open(saturday_evening));
        assert_eq!(
            h.next_open_at(saturday_evening),
            Some(utc("2026-03-29T07:00:00Z")),
            "09:00 CEST, not 09:00 CET"
        );
        assert!(h.is_open(utc("2026-03-29T15:59:00Z")), "17:59 CEST");
        assert!(!h.is_open(utc("2026-03-29T16:00:00Z")), "18:00 CEST");
        // Back to UTC+1 on Sunday 2026-10-25.
        assert_eq!(
            h.next_open_at(utc("2026-10-24T17:00:00Z")),
            Some(utc("2026-10-25T08:00:00Z")),
            "09:00 CET after the fall back"
        );
    }

    #[test]
    fn an_opening_the_clock_skips_opens_at_the_jump_and_one_inside_the_jump_never_does() {
        // São Paulo's last DST began at 00:00 on Sunday 2018-11-04: the clock went 23:59 -> 01:00.
        let h = hours("America/Sao_Paulo", &[("sun", "00:00", "12:00")], &[]);
        let saturday_late = utc("2018-11-04T02:00:00Z"); // Saturday 23:00 -03
        assert_eq!(
            h.next_open_at(saturday_late),
            Some(utc("2018-11-04T03:00:00Z")),
            "at the jump, 01:00 -02"
        );
        assert!(h.is_open(utc("2018-11-04T03:00:00Z")));
        let inside = hours("America/Sao_Paulo", &[("sun", "00:10", "00:50")], &[]);
        assert_eq!(
            inside.next_open_at(saturday_late),
            Some(utc("2018-11-11T02:10:00Z")),
            "skipped that Sunday; the next one at 00:10 -02"
        );
    }

    #[test]
    fn an_opening_the_clock_passes_twice_opens_at_its_first_occurrence() {
        // New York falls back from EDT to EST at 02:00 on Sunday 2026-11-01: 01:00-02:00 twice.
        let h = hours("America/New_York", &[("sun", "01:30", "03:00")], &[]);
        assert_eq!(
            h.next_open_at(utc("2026-11-01T04:00:00Z")), // Sunday 00:00 EDT
            Some(utc("2026-11-01T05:30:00Z")),
            "01:30 EDT, the first 01:30"
        );
        assert!(h.is_open(utc("2026-11-01T06:30:00Z")), "01:30 EST, again");
        assert!(!h.is_open(utc("2026-11-01T08:00:00Z")), "03:00 EST");
    }

    #[test]
    fn holidays_close_the_whole_local_date() {
        let h = hours(
            "America/Sao_Paulo",
            &every_day("00:00", "24:00"),
            &["2026-12-24", "2026-12-25"],
        );
        assert!(h.is_open(utc("2026-12-24T02:59:00Z")), "23:59 on the 23rd");
        assert!(!h.is_open(utc("2026-12-24T03:00:00Z")), "00:00 on the 24th");
        assert!(!h.is_open(utc("2026-12-26T02:59:00Z")), "23:59 on the 25th");
        assert_eq!(
            h.next_open_at(utc("2026-12-24T15:00:00Z")),
            Some(utc("2026-12-26T03:00:00Z")),
            "00:00 on the 26th"
        );
    }

    #[test]
    fn an_overnight_opening_is_two_entries_that_join_at_midnight() {
        let h = hours(
            "UTC",
            &[("fri", "22:00", "24:00"), ("sat", "00:00", "06:00")],
            &["2026-12-26"],
        );
        // Friday 2026-12-18.
        assert_eq!(
            h.next_open_at(utc("2026-12-18T21:00:00Z")),
            Some(utc("2026-12-18T22:00:00Z"))
        );
        assert!(h.is_open(utc("2026-12-18T23:59:59Z")));
        assert!(h.is_open(utc("2026-12-19T00:00:00Z")), "no gap at midnight");
        assert_eq!(h.next_open_at(utc("2026-12-19T01:00:00Z")), None);
        assert!(!h.is_open(utc("2026-12-19T06:00:00Z")));
        // Saturday the 26th is a holiday: Friday night closes at midnight.
        assert!(h.is_open(utc("2026-12-25T23:00:00Z")));
        assert!(!h.is_open(utc("2026-12-26T01:00:00Z")));
        assert_eq!(
            h.next_open_at(utc("2026-12-26T01:00:00Z")),
            Some(utc("2027-01-01T22:00:00Z"))
        );
    }

    #[test]
    fn several_openings_a_day_and_a_lunch_break() {
        let h = hours(
            "UTC",
            &[("wed", "14:00", "18:00"), ("wed", "09:00", "12:00")],
            &[],
        );
        let wednesday = "2026-12-09";
        assert!(h.is_open(utc(&format!("{wednesday}T11:00:00Z"))));
        assert_eq!(
            h.next_open_at(utc(&format!("{wednesday}T12:30:00Z"))),
            Some(utc(&format!("{wednesday}T14:00:00Z")))
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_part() {
        let ok = r#"{"day":"mon","from":"09:00","to":"18:00"}"#;
        for (json, names) in [
            (
                format!(r#"{{"timezone":"America/Sao_Paolo","weekly":[{ok}]}}"#),
                "timezone \"America/Sao_Paolo\"",
            ),
            (
                format!(
                    r#"{{"timezone":"UTC","weekly":[{ok},{{"day":"monday","from":"09:00","to":"18:00"}}]}}"#
                ),
                "weekly[1].day \"monday\"",
            ),
            (
                r#"{"timezone":"UTC","weekly":[{"day":"mon","from":"9:00","to":"18:00"}]}"#.into(),
                "weekly[0].from \"9:00\"",
            ),
            (
                r#"{"timezone":"UTC","weekly":[{"day":"mon","from":"09:00","to":"18:60"}]}"#.into(),
                "weekly[0].to \"18:60\"",
            ),
            (
                r#"{"timezone":"UTC","weekly":[{"day":"mon","from":"24:00","to":"24:00"}]}"#.into(),
                "weekly[0].from \"24:00\"",
            ),
            (
                r#"{"timezone":"UTC","weekly":[{"day":"fri","from":"22:00","to":"06:00"}]}"#.into(),
                "weekly[0] (fri): from 22:00 is not before to 06:00",
            ),
            (
                r#"{"timezone":"UTC","weekly":[{"day":"fri","from":"10:00","to":"10:00"}]}"#.into(),
                "from 10:00 is not before to 10:00",
            ),
            (
                format!(
                    r#"{{"timezone":"UTC","weekly":[{ok}],"holidays":["2026-12-25","2026-13-01"]}}"#
                ),
                "holidays[1] \"2026-13-01\"",
            ),
            (
                format!(r#"{{"timezone":"UTC","weekly":[{ok}],"holidays":["2026-1-5"]}}"#),
                "holidays[0] \"2026-1-5\"",
            ),
            (
                r#"{"timezone":"UTC","weekly":[]}"#.into(),
                "weekly lists no opening hours",
            ),
            (
                format!(r#"{{"timezone":"UTC","weekly":[{ok}],"holiday":[]}}"#),
                "unknown field `holiday`",
            ),
            ("mon-fri 9-18".into(), "not the expected JSON"),
        ] {
            let err = BusinessHours::parse(&json).unwrap_err();
            assert!(err.contains(names), "{json}: {err}");
        }
    }
}
