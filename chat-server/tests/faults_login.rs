//! Sign-in abuse: guessing is limited per account and per client address before any password is
//! checked, and a flood of concurrent wrong logins cannot grow the server's memory past a bound
//! (each argon2 check holds ~19 MiB; unbounded, 16 at once took a server from 14 to 338 MiB).

mod common;

use std::time::{Duration, Instant};

use common::binary;
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, SIGNING_KEY, TestServer};
#[path = "common/outage.rs"]
mod outage;
use serde_json::{Value, json};

async fn login_from(s: &TestServer, from: &str, email: &str, password: &str) -> reqwest::Response {
    s.http
        .post(s.url("/api/v1/agents/login"))
        .header("x-forwarded-for", format!("198.18.0.1, {from}"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Checks a 429 is the contract's: `rate_limited` in the error body and a Retry-After in seconds.
async fn assert_limited(r: reqwest::Response) -> u64 {
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is whole seconds");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    wait
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guesses_are_refused_per_account_and_per_address_before_any_password_is_checked() {
    let s = TestServer::start_with(&[
        "--trusted-proxy-hops=1",
        "--login-address-rate=10",
        "--login-account-rate=5",
    ])
    .await;
    // 1. One address guesses the admin's password: the account allows 5 a minute.
    let mut unauthorized = 0;
    let mut limited = 0;
    let mut waits = Vec::new();
    for _ in 0..8 {
        let r = login_from(&s, "203.0.113.10", ADMIN_EMAIL, "not-the-password").await;
        if r.status() == 401 {
            assert_eq!(limited, 0, "nothing is let through once limited");
            unauthorized += 1;
        } else {
            waits.push(assert_limited(r).await);
            limited += 1;
        }
    }
    assert_eq!((unauthorized, limited), (5, 3));
    // 2. The account's budget is spent for every address and every spelling of its email: even
    //    the right password from a fresh address waits.
    let r = login_from(
        &s,
        "198.51.100.20",
        &ADMIN_EMAIL.to_uppercase(),
        ADMIN_PASSWORD,
    )
    .await;
    assert_limited(r).await;
    // 3. One address spraying many accounts: 10 a minute from that address, whatever the email.
    let mut sprayed = (0, 0);
    for i in 0..15 {
        let r = login_from(&s, "203.0.113.30", &format!("nobody{i}@acme.test"), "guess").await;
        if r.status() == 401 {
            sprayed.0 += 1;
        } else {
            assert_limited(r).await;
            sprayed.1 += 1;
        }
    }
    assert_eq!(sprayed, (10, 5));
    // 4. Others are not held up: another account from another address signs in.
    let r = login_from(&s, "198.51.100.21", "nobody99@acme.test", "guess").await;
    assert_eq!(
        r.status(),
        401,
        "a fresh account from a fresh address is checked"
    );

    let by_account = outage::metric(&s.base, "chat_rate_limited_total", "login_account").await;
    let by_address = outage::metric(&s.base, "chat_rate_limited_total", "login_address").await;
    let failures = outage::metric(&s.base, "chat_login_failures_total", "").await;
    eprintln!(
        "[login limits] FIGURES admin_guesses=8 unauthorized={unauthorized} limited={limited} \
         retry_after_s={waits:?} spray=15 unauthorized={} limited={} metric_login_account={by_account} \
         metric_login_address={by_address} password_checks_failed={failures}",
        sprayed.0, sprayed.1
    );
    assert_eq!(
        by_account, 4.0,
        "3 guesses and the right password were refused per account"
    );
    assert_eq!(by_address, 5.0);
    // Every refused attempt stopped before the password check: only the 16 401s were checked.
    assert_eq!(failures, 16.0);
}

fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} missing in /proc/{pid}/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_wrong_logins_keep_the_server_within_64_mib_of_its_idle_memory() {
    let dir = tempfile::tempdir().unwrap();
    // The gate alone is under test: the rate limits are opened wide, and its size is fixed so
    // the bound does not depend on this machine's CPU count.
    let server = binary::start(&[
        ("CHAT_STORE", dir.path().join("store").display().to_string()),
        (
            "CHAT_UPLOAD_DIR",
            dir.path().join("up").display().to_string(),
        ),
        ("CHAT_SIGNING_KEY", SIGNING_KEY.into()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.into()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
        ("CHAT_LOGIN_ADDRESS_RATE", "100000".into()),
        ("CHAT_LOGIN_ACCOUNT_RATE", "100000".into()),
        ("CHAT_PASSWORD_HASH_CONCURRENCY", "2".into()),
    ]);
    let http = reqwest::Client::new();
    for _ in 0..200 {
        let ready = http
            .get(format!("{}/health/ready", server.base))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.guard.pid();
    let idle = memory_kib(pid, "VmRSS");

    let started = Instant::now();
    let attempts: Vec<_> = (0..50)
        .map(|i| {
            // A client per attempt: 50 connections at once, as 50 attackers would open.
            let url = format!("{}/api/v1/agents/login", server.base);
            // Half guess the admin's password, half unknown emails (the dummy check).
            let email = if i % 2 == 0 {
                ADMIN_EMAIL.to_string()
            } else {
                format!("nobody{i}@acme.test")
            };
            tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .post(url)
                    .json(&json!({"email": email, "password": "wrong-password"}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let retry = r.headers().get("retry-after").is_some();
                let body: Value = r.json().await.unwrap();
                (status, retry, body)
            })
        })
        .collect();
    let mut unauthorized = 0;
    let mut busy = 0;
    for a in attempts {
        match a.await.unwrap() {
            (401, _, _) => unauthorized += 1,
            (503, true, body) if body["error"]["code"] == "busy" => busy += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peak = memory_kib(pid, "VmHWM");
    let after = memory_kib(pid, "VmRSS");
    eprintln!(
        "[login flood] FIGURES concurrent=50 slots=2 unauthorized={unauthorized} busy={busy} \
         took_ms={} idle_rss_mib={:.1} peak_rss_mib={:.1} after_rss_mib={:.1} growth_mib={:.1}",
        took.as_millis(),
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0,
        (peak.saturating_sub(idle)) as f64 / 1024.0,
    );
    assert!(unauthorized > 0, "the flood was answered, not only refused");
    assert!(
        peak.saturating_sub(idle) < 64 * 1024,
        "peak {peak} KiB is more than 64 MiB above the idle {idle} KiB"
    );
}
