//! The desk's summary report (`GET /api/v1/reports/summary`): volumes, first-response and
//! resolution times, satisfaction, per agent and per day, over the conversations *created* in a
//! range. The store hands over one compact row per conversation (`Store::report_facts`, an
//! index range); this module does the arithmetic in one pass plus a sort per group, so the
//! rules (what a first response is, how a percentile is taken) live in one place for both
//! stores.
//!
//! Definitions (also in README):
//! - first response: the first agent message (not a private note, not a system message) after
//!   the visitor's first message, measured from that message;
//! - resolution: from the conversation's creation to its resolution (`resolved_at`), for
//!   conversations resolved now;
//! - percentiles interpolate linearly between the two nearest values (numpy's default), so the
//!   median of an even count is the mean of the middle two; seconds are rounded to the
//!   millisecond, the CSAT average to 0.01;
//! - days are UTC days of the conversations' creation.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Chat, require_agent};
use crate::auth::Principal;
use crate::error::Error;
use crate::store::ConversationFacts;

/// A range of more days than this is refused: `by_day` has one row per day.
pub const MAX_RANGE_DAYS: i64 = 366;
/// With no `from`, the report covers this many days up to `to`.
pub const DEFAULT_RANGE_DAYS: u64 = 30;

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Summary {
    /// The range covered: conversations created at or after `from` and before `to`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Conversations created in the range.
    pub conversations: u64,
    /// Of those, the ones resolved now.
    pub resolved: u64,
    pub first_response_seconds: Durations,
    pub resolution_seconds: Durations,
    pub csat: Csat,
    /// One row per assignee (`agent_id` null: unassigned), most conversations first.
    pub by_agent: Vec<AgentRow>,
    /// One row per UTC day of the range, empty days included, oldest first.
    pub by_day: Vec<DayRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    /// Null when there is no sample.
    #[schema(required = true)]
    pub median: Option<f64>,
    #[schema(required = true)]
    pub p90: Option<f64>,
    /// How many conversations had one.
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct Csat {
    /// Mean score (1-5), null without ratings.
    #[schema(required = true)]
    pub average: Option<f64>,
    pub responses: u64,
    /// How many ratings gave 1, 2, 3, 4 and 5.
    pub scores: [u64; 5],
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AgentRow {
    #[schema(required = true)]
    pub agent_id: Option<String>,
    /// The agent's name now; null for unassigned or a deleted agent.
    #[schema(required = true)]
    pub name: Option<String>,
    pub conversations: u64,
    pub resolved: u64,
    #[schema(required = true)]
    pub first_response_median_seconds: Option<f64>,
    #[schema(required = true)]
    pub resolution_median_seconds: Option<f64>,
    pub csat: Csat,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DayRow {
    #[schema(value_type = String, format = Date, example = "2026-12-05")]
    pub date: NaiveDate,
    pub conversations: u64,
    pub resolved: u64,
    #[schema(required = true)]
    pub first_response_median_seconds: Option<f64>,
    #[schema(required = true)]
    pub resolution_median_seconds: Option<f64>,
    pub csat: Csat,
}

impl Chat {
    pub async fn report_summary(
        &self,
        by: &Principal,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Summary, Error> {
        require_agent(by)?;
        let (from, to) = range(from, to, crate::model::now())?;
        let facts = self.store.report_facts(from, to).await?;
        let names: HashMap<String, String> = self
            .all_agents()
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        Ok(summarize(&facts, from, to, &names))
    }
}

/// `[from, to)` from the query's values: each an RFC 3339 time or a date (`from`: the start of
/// that UTC day; `to`: the end of it, so `from=2026-12-01&to=2026-12-07` is seven whole days).
/// `to` defaults to `now`, `from` to [`DEFAULT_RANGE_DAYS`] before `to`.
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
    // A date `to` ends its day: `from` must come before that end (equal is an empty range of
    // two times, but a day after a date).
    let (written, to) = match to.filter(|s| !s.is_empty()) {
        None => (now, now),
        Some(s) => instant("to", s)?,
    };
    let from = match from.filter(|s| !s.is_empty()) {
        None => to - Days::new(DEFAULT_RANGE_DAYS),
        Some(s) => instant("from", s)?.0,
    };
    if from > to || (from == to && written != to) {
        return Err(Error::invalid(
            "invalid_range",
            format!("from ({from}) is after to ({to})"),
        ));
    }
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(Error::invalid(
            "range_too_long",
            format!("from {from} to {to} is more than {MAX_RANGE_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// The value's instant, and the end of the range it closes: the same for a time, the next
/// day's start for a date.
fn instant(field: &str, value: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        let t = t.with_timezone(&Utc);
        return Ok((t, t));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        Error::invalid(
            "invalid_time",
            format!(
                "{field} must be an RFC 3339 time (2026-12-05T09:00:00Z) or a date \
                 (2026-12-05); got {value:?}"
            ),
        )
    })?;
    let start = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
    Ok((start(day), start(day.succ_opt().unwrap_or(day))))
}

/// The percentile `q` (0..=1) of `v` (any order; reordered), interpolating linearly between
/// the two nearest values. Two selections instead of a sort: O(n) per percentile, which is most
/// of a 100,000-conversation summary's arithmetic.
fn percentile(v: &mut [f64], q: f64) -> Option<f64> {
    let last = v.len().checked_sub(1)?;
    let rank = q * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (_, &mut low, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    // Everything after `lo` is at least `low`: the next value up is their minimum.
    let high = match hi > lo {
        true => above.iter().copied().fold(f64::INFINITY, f64::min),
        false => low,
    };
    Some(round(low + (high - low) * (rank - lo as f64), 1000.0))
}

fn round(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_milliseconds().max(0)) as f64 / 1000.0
}

/// Samples of one group, summarised once all are in.
#[derive(Default)]
struct Group {
    conversations: u64,
    resolved: u64,
    first_responses: Vec<f64>,
    resolutions: Vec<f64>,
    scores: [u64; 5],
}

impl Group {
    fn add(&mut self, f: &ConversationFacts) {
        self.conversations += 1;
        if f.resolved {
            self.resolved += 1;
            if let Some(at) = f.resolved_at {
                self.resolutions.push(seconds(f.created_at, at));
            }
        }
        if let (Some(asked), Some(answered)) = (f.first_visitor_at, f.first_response_at) {
            self.first_responses.push(seconds(asked, answered));
        }
        if let Some(score @ 1..=5) = f.score {
            self.scores[usize::from(score) - 1] += 1;
        }
    }

    fn durations(v: &mut [f64]) -> Durations {
        Durations {
            median: percentile(v, 0.5),
            p90: percentile(v, 0.9),
            count: v.len() as u64,
        }
    }

    fn csat(&self) -> Csat {
        let responses: u64 = self.scores.iter().sum();
        let total: u64 = (1..).zip(self.scores).map(|(s, n)| s * n).sum();
        Csat {
            average: (responses > 0).then(|| round(total as f64 / responses as f64, 100.0)),
            responses,
            scores: self.scores,
        }
    }
}

pub fn summarize(
    facts: &[ConversationFacts],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    names: &HashMap<String, String>,
) -> Summary {
    let mut all = Group::default();
    let mut agents: HashMap<Option<&str>, Group> = HashMap::new();
    let mut days: BTreeMap<NaiveDate, Group> = BTreeMap::new();
    // Every day of the range, so a chart shows the quiet ones.
    if from < to {
        let last = (to - chrono::Duration::milliseconds(1)).date_naive();
        let mut day = from.date_naive();
        while day <= last {
            days.entry(day).or_default();
            day = match day.succ_opt() {
                Some(next) => next,
                None => break,
            };
        }
    }
    for f in facts {
        all.add(f);
        agents.entry(f.assignee.as_deref()).or_default().add(f);
        days.entry(f.created_at.date_naive()).or_default().add(f);
    }
    let mut by_agent: Vec<AgentRow> = agents
        .into_iter()
        .map(|(id, mut g)| AgentRow {
            agent_id: id.map(str::to_string),
            name: id.and_then(|id| names.get(id).cloned()),
            conversations: g.conversations,
            resolved: g.resolved,
            first_response_median_seconds: Group::durations(&mut g.first_responses).median,
            resolution_median_seconds: Group::durations(&mut g.resolutions).median,
            csat: g.csat(),
        })
        .collect();
    by_agent.sort_by(|a, b| {
        (
            a.agent_id.is_none(),
            std::cmp::Reverse(a.conversations),
            &a.agent_id,
        )
            .cmp(&(
                b.agent_id.is_none(),
                std::cmp::Reverse(b.conversations),
                &b.agent_id,
            ))
    });
    let by_day = days
        .into_iter()
        .map(|(date, mut g)| DayRow {
            date,
            conversations: g.conversations,
            resolved: g.resolved,
            first_response_median_seconds: Group::durations(&mut g.first_responses).median,
            resolution_median_seconds: Group::durations(&mut g.resolutions).median,
            csat: g.csat(),
        })
        .collect();
    Summary {
        from,
        to,
        conversations: all.conversations,
        resolved: all.resolved,
        first_response_seconds: Group::durations(&mut all.first_responses),
        resolution_seconds: Group::durations(&mut all.resolutions),
        csat: all.csat(),
        by_agent,
        by_day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn percentiles_interpolate_between_the_nearest_values() {
        let mut v = [40.0, 10.0, 30.0, 20.0];
        assert_eq!(percentile(&mut v, 0.5), Some(25.0));
        assert_eq!(percentile(&mut v, 0.9), Some(37.0));
        assert_eq!(percentile(&mut [7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&mut [], 0.5), None);
        let mut five = [100.0, 3.0, 1.0, 4.0, 2.0];
        assert_eq!(percentile(&mut five, 0.5), Some(3.0));
        assert_eq!(percentile(&mut five, 0.9), Some(61.6));
        let mut same = [5.0, 5.0, 5.0, 9.0];
        assert_eq!(percentile(&mut same, 0.5), Some(5.0));
        assert_eq!(percentile(&mut same, 0.9), Some(7.8));
    }

    #[test]
    fn dates_cover_whole_utc_days_and_times_are_taken_as_given() {
        let now = t("2026-12-05T12:00:00Z");
        assert_eq!(
            range(Some("2026-12-01"), Some("2026-12-07"), now).unwrap(),
            (t("2026-12-01T00:00:00Z"), t("2026-12-08T00:00:00Z"))
        );
        assert_eq!(
            range(
                Some("2026-12-01T09:30:00-03:00"),
                Some("2026-12-01T18:00:00Z"),
                now
            )
            .unwrap(),
            (t("2026-12-01T12:30:00Z"), t("2026-12-01T18:00:00Z"))
        );
        assert_eq!(
            range(None, None, now).unwrap(),
            (t("2026-11-05T12:00:00Z"), now)
        );
    }

    #[test]
    fn bad_values_name_their_field_and_a_reversed_or_huge_range_is_refused() {
        let now = t("2026-12-05T12:00:00Z");
        let e = range(Some("yesterday"), None, now).unwrap_err();
        assert_eq!(e.code, "invalid_time");
        assert!(e.message.starts_with("from "), "{}", e.message);
        let e = range(None, Some("2026-13-01"), now).unwrap_err();
        assert!(e.message.starts_with("to "), "{}", e.message);
        let e = range(Some("2026-12-05"), Some("2026-12-01"), now).unwrap_err();
        assert_eq!(e.code, "invalid_range");
        let e = range(Some("2026-12-02"), Some("2026-12-01"), now).unwrap_err();
        assert_eq!(e.code, "invalid_range", "the day after to is after it");
        range(Some("2026-12-01"), Some("2026-12-01"), now).expect("one day");
        range(Some("2026-12-01T10:00:00Z"), Some("2026-12-01"), now).expect("to that day's end");
        let e = range(Some("2020-01-01"), Some("2026-12-01"), now).unwrap_err();
        assert_eq!(e.code, "range_too_long");
    }

    #[test]
    fn empty_days_are_listed_and_an_empty_range_has_no_figures() {
        let s = summarize(
            &[],
            t("2026-12-01T00:00:00Z"),
            t("2026-12-04T00:00:00Z"),
            &HashMap::new(),
        );
        let dates: Vec<String> = s.by_day.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(dates, ["2026-12-01", "2026-12-02", "2026-12-03"]);
        assert_eq!(
            (s.conversations, s.first_response_seconds.median),
            (0, None)
        );
        assert_eq!(s.csat.average, None);
    }
}
