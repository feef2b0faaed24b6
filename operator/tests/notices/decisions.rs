//! `notices::next`, the pure decision the report stage acts on, case by case.

use std::time::Duration;

use atendo_operator::notices::{Next, NoticeError, backoff, next, notice_id, recorded};
use atendo_operator::tenant::NoticeStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ready(status: &str, since: &str) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: status.into(),
        reason: "Provisioned".into(),
        message: String::new(),
        observed_generation: Some(1),
        last_transition_time: Time(at(since)),
    }
}

const BASE: Duration = Duration::from_secs(5);

#[test]
fn a_new_transition_is_published_from_attempt_zero_with_an_id_from_uid_and_time() {
    let now = at("2026-12-06T03:00:00Z");
    // The condition just computed carries sub-second time; the record keeps whole seconds.
    let Next::Publish { record } = next(
        Some(&ready("True", "2026-12-06T02:59:59.25Z")),
        None,
        "uid-1",
        BASE,
        now,
    ) else {
        panic!("publish")
    };
    assert_eq!(record.attempts, 0);
    assert_eq!(record.ready_since, Time(at("2026-12-06T02:59:59Z")));
    assert_eq!(
        record.id,
        notice_id("uid-1", &Time(at("2026-12-06T02:59:59Z")))
    );
    assert_ne!(
        record.id,
        notice_id("uid-2", &record.ready_since),
        "per Tenant"
    );
    assert_eq!(record.id.len(), 36);
}

#[test]
fn not_ready_keeps_the_record() {
    let now = at("2026-12-06T03:00:00Z");
    assert_eq!(next(None, None, "u", BASE, now), Next::Keep);
    assert_eq!(
        next(
            Some(&ready("False", "2026-12-06T02:00:00Z")),
            None,
            "u",
            BASE,
            now
        ),
        Next::Keep
    );
}

#[test]
fn a_delivered_transition_is_never_published_again_and_a_later_one_is() {
    let now = at("2026-12-06T03:00:00Z");
    let since = Time(at("2026-12-06T02:00:00Z"));
    let delivered = NoticeStatus {
        ready_since: since.clone(),
        id: notice_id("u", &since),
        attempts: 1,
        last_attempt_at: Some(since.clone()),
        delivered_at: Some(since.clone()),
        last_error: None,
    };
    let r = ready("True", "2026-12-06T02:00:00Z");
    assert_eq!(next(Some(&r), Some(&delivered), "u", BASE, now), Next::Keep);
    let later = ready("True", "2026-12-06T02:30:00Z");
    let Next::Publish { record } = next(Some(&later), Some(&delivered), "u", BASE, now) else {
        panic!("a new transition")
    };
    assert_eq!(record.attempts, 0);
    assert_ne!(record.id, delivered.id);
}

#[test]
fn a_failed_notice_waits_out_its_backoff_then_is_published_with_the_same_id() {
    let since = Time(at("2026-12-06T02:00:00Z"));
    let first = NoticeStatus {
        ready_since: since.clone(),
        id: notice_id("u", &since),
        attempts: 0,
        last_attempt_at: None,
        delivered_at: None,
        last_error: None,
    };
    let failed = recorded(
        first,
        &Err(NoticeError("503".into())),
        at("2026-12-06T02:00:01Z"),
    );
    let failed = recorded(
        failed,
        &Err(NoticeError("503".into())),
        at("2026-12-06T02:00:06Z"),
    );
    assert_eq!(
        (failed.attempts, failed.last_error.as_deref()),
        (2, Some("503"))
    );
    assert_eq!(failed.delivered_at, None);
    let r = ready("True", "2026-12-06T02:00:00Z");
    // After two failures the wait is 2 × 5 s from the last attempt.
    assert_eq!(
        next(
            Some(&r),
            Some(&failed),
            "u",
            BASE,
            at("2026-12-06T02:00:10Z")
        ),
        Next::Wait(Duration::from_secs(6))
    );
    assert_eq!(
        next(
            Some(&r),
            Some(&failed),
            "u",
            BASE,
            at("2026-12-06T02:00:16Z")
        ),
        Next::Publish {
            record: failed.clone()
        }
    );
    let delivered = recorded(failed.clone(), &Ok(()), at("2026-12-06T02:00:16Z"));
    assert_eq!(delivered.attempts, 3);
    assert_eq!(delivered.id, failed.id);
    assert_eq!(delivered.last_error, None);
    assert_eq!(
        delivered.delivered_at,
        Some(Time(at("2026-12-06T02:00:16Z")))
    );
}

#[test]
fn the_backoff_doubles_up_to_five_minutes() {
    let waits: Vec<u64> = (1..=9).map(|n| backoff(BASE, n).as_secs()).collect();
    assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
}
