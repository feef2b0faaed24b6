//! Whether anyone is there (chat-api-v1, "When no one is there"): open means inside the business
//! hours (`CHAT_BUSINESS_HOURS`; unset = always) and at least one agent online (not away) on any
//! replica (`crate::delivery::presence`). A visitor's conversation started while not open waits
//! as `pending`, decided here and never by the client.

use chat_settings::business_hours::BusinessHours;
use chrono::{DateTime, Utc};

use super::Chat;

/// What `GET /api/v1/availability` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    pub open: bool,
    /// Agents online (not away) on any replica.
    pub agents_online: usize,
    /// When the business hours next begin, while `now` is outside them; `None` inside them or
    /// without hours.
    pub next_open_at: Option<DateTime<Utc>>,
}

/// The availability at `now` with `agents_online` agents online.
pub fn at(hours: Option<&BusinessHours>, agents_online: usize, now: DateTime<Utc>) -> Availability {
    let in_hours = hours.is_none_or(|h| h.is_open(now));
    Availability {
        open: in_hours && agents_online > 0,
        agents_online,
        next_open_at: hours.and_then(|h| h.next_open_at(now)),
    }
}

impl Chat {
    pub fn availability(&self) -> Availability {
        at(
            self.hours.as_ref(),
            self.presence.online().len(),
            Utc::now(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_needs_both_the_hours_and_an_agent() {
        let hours = BusinessHours::parse(
            r#"{"timezone":"UTC","weekly":[{"day":"mon","from":"09:00","to":"18:00"}]}"#,
        )
        .unwrap();
        let monday_noon: DateTime<Utc> = "2026-12-07T12:00:00Z".parse().unwrap();
        let monday_night: DateTime<Utc> = "2026-12-07T20:00:00Z".parse().unwrap();
        assert_eq!(
            at(Some(&hours), 1, monday_noon),
            Availability {
                open: true,
                agents_online: 1,
                next_open_at: None
            }
        );
        assert!(!at(Some(&hours), 0, monday_noon).open, "nobody online");
        let closed = at(Some(&hours), 3, monday_night);
        assert!(!closed.open, "outside the hours");
        assert_eq!(
            closed.next_open_at,
            Some("2026-12-14T09:00:00Z".parse().unwrap())
        );
        assert_eq!(
            at(None, 0, monday_night),
            Availability {
                open: false,
                agents_online: 0,
                next_open_at: None
            },
            "always-open hours never name an opening"
        );
        assert!(at(None, 1, monday_night).open);
    }
}
