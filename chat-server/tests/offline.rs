//! When no one is there, end to end: real `chat-server` processes on one Redis and one
//! MongoDB-wire server (SecantusDB), a real SMTP server (aiosmtpd, `testkit::smtp`).
//!
//! What each test shows: availability follows agents coming online and going on any replica; a
//! conversation started while nobody is there is `pending`, its first message reaches every
//! admin's mailbox (Reply-To the visitor) even when the mail server refused it at first and every
//! chat-server was killed meanwhile, and the desk opening makes it `open`; business hours closed
//! today keep the desk closed with an agent online and name the next opening; a bad
//! `CHAT_BUSINESS_HOURS` stops the start naming the bad part; without mail nothing breaks; a
//! transcript asked for by mail reaches the visitor when the conversation is resolved, never with a
//! private note.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Days, FixedOffset, NaiveTime, Utc};
use common::binary::{self, Replica};
use common::http::call;
use common::mail::{self, header};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer, Ws, str_of};
use serde_json::{Value, json};
use testkit::smtp::spawn_smtp;

const AGENT_PASSWORD: &str = "quiet-meadow-harbour-9";
/// Far above a bus round trip plus the 1 s look each replica takes at the desk.
const SETTLE: Duration = Duration::from_secs(5);

async fn login(base: &str, email: &str, password: &str) -> String {
    let (status, body) = call(
        base,
        "POST",
        "/agents/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    str_of(&body, "token")
}

/// Creates an agent (as the admin) and signs it in: its token.
async fn agent(base: &str, admin: &str, name: &str, role: &str) -> String {
    let email = format!("{}@acme.test", name.to_lowercase());
    let body = json!({"email": email, "password": AGENT_PASSWORD, "name": name, "role": role});
    let (status, created) = call(base, "POST", "/agents", Some(admin), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    login(base, &email, AGENT_PASSWORD).await
}

async fn availability(base: &str) -> Value {
    let (status, body) = call(base, "GET", "/availability", None, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls `base`'s availability until `open` is `want`; how long that took.
async fn until_open(base: &str, want: bool, since: Instant) -> Duration {
    loop {
        if availability(base).await["open"] == want {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < SETTLE,
            "availability never became open={want}: {}",
            availability(base).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn visitor(base: &str) -> String {
    let (status, body) = call(base, "POST", "/visitors", None, None).await;
    assert_eq!(status, 201, "{body}");
    str_of(&body, "token")
}

async fn start_conversation(base: &str, visitor: &str) -> Value {
    let (status, body) = call(base, "POST", "/conversations", Some(visitor), None).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn say(base: &str, visitor: &str, conversation: &str, text: &str) {
    let path = format!("/conversations/{conversation}/messages");
    let body = json!({"body": text, "client_msg_id": testkit::unique("m")});
    let (status, sent) = call(base, "POST", &path, Some(visitor), Some(body)).await;
    assert_eq!(status, 201, "{sent}");
}

async fn online(r: &Replica, token: &str) -> Ws {
    let mut ws = Ws::connect_bearer(&r.ws_base, token).await;
    ws.send(json!({"type": "ping"})).await;
    ws.expect("pong").await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_message_reaches_every_admin_through_a_mail_outage_and_restarts_and_the_desk_opening_opens_it()
 {
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let database = testkit::unique("offline");
    let store_uri = mongo.database_uri(&database).await;
    let smtp = spawn_smtp().expect("SMTP server");
    let mut env = binary::deployment_env(&redis.url, store_uri.clone());
    env.extend(mail::env(&smtp));
    let mut a = binary::start(&env);
    let mut b = binary::start(&env);
    let admin = login(&a.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let _second_admin = agent(&a.base, &admin, "Bia", "admin").await;
    let ana = agent(&a.base, &admin, "Ana", "agent").await;

    // Nobody online: closed, and no business hours to name an opening.
    let closed = availability(&b.base).await;
    assert_eq!(
        closed,
        json!({"open": false, "agents_online": 0, "next_open_at": null})
    );

    // The widget's offline form: contact details first, checked.
    let vera = visitor(&a.base).await;
    let (status, body) = call(
        &a.base,
        "PATCH",
        "/visitors/me",
        Some(&vera),
        Some(json!({"email": "vera at example"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_email")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("email "),
        "names the field: {body}"
    );
    let (status, me) = call(
        &a.base,
        "PATCH",
        "/visitors/me",
        Some(&vera),
        Some(json!({"name": "Vera", "email": "vera@example.com"})),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["name"].as_str(), me["email"].as_str()),
        (Some("Vera"), Some("vera@example.com"))
    );
    let (status, _) = call(
        &a.base,
        "PATCH",
        "/visitors/me",
        Some(&admin),
        Some(json!({"name": "X"})),
    )
    .await;
    assert_eq!(status, 403, "an agent has no visitor details");

    // The mail server refuses everything; the conversation starts pending all the same.
    smtp.fail(true);
    let conversation = start_conversation(&b.base, &vera).await;
    assert_eq!(conversation["status"], "pending", "{conversation}");
    assert_eq!(
        conversation["visitor"]["name"], "Vera",
        "the name the form gave"
    );
    let id = str_of(&conversation, "id");
    let text = "Hello, my order 4521 never arrived. Can someone call me back?";
    say(&b.base, &vera, &id, text).await;
    say(&b.base, &vera, &id, "Second message, not mailed again").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(smtp.mails().is_empty(), "the server refuses every mail");

    // Every chat-server dies without a word; the mail server comes back; one chat-server starts.
    for r in [&mut a, &mut b] {
        r.guard.signal("KILL");
        r.guard
            .wait_timeout(Duration::from_secs(5))
            .expect("killed");
    }
    smtp.fail(false);
    let restarted = Instant::now();
    let c = binary::start(&env);
    let mails = smtp.wait_for_mails(2, Duration::from_secs(30)).unwrap();
    let delivered = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        smtp.mails().len(),
        2,
        "one per admin, exactly once: {:#?}",
        smtp.mails()
    );
    let mut to: Vec<&str> = mails.iter().filter_map(|m| header(m, "To")).collect();
    to.sort();
    assert_eq!(
        to,
        ["admin@acme.test", "bia@acme.test"],
        "admins only, not Ana"
    );
    for mail in &mails {
        assert_eq!(header(mail, "Reply-To"), Some("vera@example.com"), "{mail}");
        assert!(
            header(mail, "Subject")
                .unwrap()
                .contains("Offline message from Vera"),
            "{mail}"
        );
        let unfolded = mail.replace("=\r\n", "").replace("=\n", "");
        assert!(unfolded.contains(text), "{mail}");
        assert!(unfolded.contains("vera@example.com"), "{mail}");
    }
    let store = chat_server::store::mongo::MongoStore::open(&store_uri, &database)
        .await
        .unwrap();
    let mail_id = mail::message_id(&mails[0]);
    let stored = chat_server::store::Store::outbox_mail(&store, &mail_id)
        .await
        .unwrap()
        .expect("in the outbox");
    assert!(
        stored.attempts >= 1 && stored.last_error.as_deref().unwrap_or("").contains("451"),
        "{stored:?}"
    );

    // Still pending: nobody came. Ana comes online on another replica: the desk is open on every
    // replica, and the conversation that waited for it is open.
    let d = binary::start(&env);
    let (_, still) = call(
        &c.base,
        "GET",
        &format!("/conversations/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(still["status"], "pending", "{still}");
    let came = Instant::now();
    let ana_socket = online(&d, &ana).await;
    let opened_on_c = until_open(&c.base, true, came).await;
    let opened_on_d = until_open(&d.base, true, came).await;
    assert_eq!(
        availability(&c.base).await,
        json!({"open": true, "agents_online": 1, "next_open_at": null})
    );
    let flipped = loop {
        let (_, now) = call(
            &c.base,
            "GET",
            &format!("/conversations/{id}"),
            Some(&admin),
            None,
        )
        .await;
        if now["status"] == "open" {
            break came.elapsed();
        }
        assert!(came.elapsed() < SETTLE, "never opened: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Started while someone is there: open at once, and no mail.
    let other = visitor(&c.base).await;
    let live = start_conversation(&c.base, &other).await;
    assert_eq!(live["status"], "open", "{live}");
    say(&c.base, &other, &str_of(&live, "id"), "Hi!").await;

    // Ana leaves: closed again everywhere.
    let left = Instant::now();
    drop(ana_socket);
    let closed_on_c = until_open(&c.base, false, left).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        smtp.mails().len(),
        2,
        "a conversation started while open mails nobody"
    );
    eprintln!(
        "offline: after a restart the refused offline message reached both admins in {delivered:?} \
         ({} failed attempts recorded); Ana online -> open on C in {opened_on_c:?}, on D in \
         {opened_on_d:?}, the waiting conversation open after {flipped:?}; Ana gone -> closed on C \
         in {closed_on_c:?}",
        stored.attempts
    );
}

/// The test's `CHAT_BUSINESS_HOURS`: every day all day in UTC+14 (no DST there), but today and
/// tomorrow there are holidays; and when the desk opens next.
fn closed_today() -> (String, chrono::DateTime<Utc>) {
    let kiritimati = FixedOffset::east_opt(14 * 3600).unwrap();
    let today = Utc::now().with_timezone(&kiritimati).date_naive();
    let tomorrow = today + Days::new(1);
    let days: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "from": "00:00", "to": "24:00"}))
        .collect();
    let hours = json!({"timezone": "Etc/GMT-14", "weekly": days, "holidays": [today.to_string(), tomorrow.to_string()]});
    let opens = (today + Days::new(2))
        .and_time(NaiveTime::MIN)
        .and_local_timezone(kiritimati)
        .unwrap()
        .with_timezone(&Utc);
    (hours.to_string(), opens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_hours_closed_today_keep_the_desk_closed_with_an_agent_online_and_name_the_next_opening()
 {
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let store_uri = mongo.database_uri(&testkit::unique("hours")).await;
    let (hours, opens) = closed_today();
    let mut env = binary::deployment_env(&redis.url, store_uri);
    env.push(("CHAT_BUSINESS_HOURS", hours));
    let a = binary::start(&env);
    let b = binary::start(&env);
    let admin = login(&a.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let _admin_socket = online(&a, &admin).await;
    let since = Instant::now();
    loop {
        let now = availability(&b.base).await;
        if now["agents_online"] == 1 {
            let expected = json!({"open": false, "agents_online": 1, "next_open_at": opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)});
            assert_eq!(now, expected, "closed by the hours, with an agent online");
            break;
        }
        assert!(since.elapsed() < SETTLE, "the agent never counted: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let vera = visitor(&b.base).await;
    let conversation = start_conversation(&b.base, &vera).await;
    assert_eq!(conversation["status"], "pending", "{conversation}");
    let id = str_of(&conversation, "id");
    say(&b.base, &vera, &id, "Anyone there on the holiday?").await;
    // Without mail configured nothing breaks; and an agent online does not open the desk.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, still) = call(
        &a.base,
        "GET",
        &format!("/conversations/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(still["status"], "pending", "{still}");
    assert_eq!(still["last_seq"], 1);
}

/// Runs the binary with `CHAT_BUSINESS_HOURS=value` until it exits; its stderr.
fn refused_start(value: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .env_clear()
        .env("CHAT_LISTEN", "127.0.0.1:0")
        .env(
            "CHAT_STORE",
            std::env::temp_dir().join(testkit::unique("hourscfg")),
        )
        .env("CHAT_BUSINESS_HOURS", value)
        .stdin(Stdio::null())
        .output()
        .expect("run chat-server");
    assert!(!out.status.success(), "started with {value}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_chat_business_hours_stops_the_start_naming_the_bad_part() {
    let day = |d: &str, from: &str, to: &str| json!({"day": d, "from": from, "to": to});
    for (hours, names) in [
        (
            json!({"timezone": "America/Sao_Paolo", "weekly": [day("mon", "09:00", "18:00")]}),
            "timezone \"America/Sao_Paolo\"",
        ),
        (
            json!({"timezone": "UTC", "weekly": [day("mon", "9h", "18:00")]}),
            "weekly[0].from \"9h\"",
        ),
        (
            json!({"timezone": "UTC", "weekly": [day("mon", "09:00", "18:00"), day("fri", "22:00", "06:00")]}),
            "weekly[1] (fri): from 22:00 is not before to 06:00",
        ),
        (
            json!({"timezone": "UTC", "weekly": [day("moon", "09:00", "18:00")]}),
            "weekly[0].day \"moon\"",
        ),
        (
            json!({"timezone": "UTC", "weekly": [day("mon", "09:00", "18:00")], "holidays": ["25/12/2026"]}),
            "holidays[0] \"25/12/2026\"",
        ),
    ] {
        let stderr = refused_start(&hours.to_string());
        assert!(
            stderr.contains("CHAT_BUSINESS_HOURS") && stderr.contains(names),
            "{hours}: {stderr}"
        );
    }
}

#[tokio::test]
async fn without_mail_an_offline_message_still_lands_in_a_pending_conversation() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/api/v1/availability", None).await;
    assert_eq!((status, body["open"].as_bool()), (200, Some(false)));
    let (_, vera) = server.visitor().await;
    let (status, c) = server
        .post("/api/v1/conversations", Some(&vera), json!({}))
        .await;
    assert_eq!(
        (status, c["status"].as_str()),
        (201, Some("pending")),
        "{c}"
    );
    let path = format!("/api/v1/conversations/{}/messages", str_of(&c, "id"));
    let (status, m) = server
        .post(
            &path,
            Some(&vera),
            json!({"body": "Anyone?", "client_msg_id": "1"}),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let ask = format!(
        "/api/v1/conversations/{}/transcript/email",
        str_of(&c, "id")
    );
    let (status, body) = server.post(&ask, Some(&vera), json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("mail_not_configured")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_gets_the_transcript_by_mail_when_the_conversation_is_resolved_and_never_a_note()
{
    let redis = testkit::redis::redis();
    let mongo = testkit::mongo::mongo();
    let store_uri = mongo.database_uri(&testkit::unique("transcript")).await;
    let smtp = spawn_smtp().expect("SMTP server");
    let mut env = binary::deployment_env(&redis.url, store_uri);
    env.extend(mail::env(&smtp));
    let a = binary::start(&env);
    let b = binary::start(&env);
    let admin = login(&a.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Someone is there: the conversation is open and mails no admin.
    let _admin_socket = online(&a, &admin).await;
    until_open(&a.base, true, Instant::now()).await;
    let vera = visitor(&a.base).await;
    let id = str_of(&start_conversation(&a.base, &vera).await, "id");
    say(&a.base, &vera, &id, "Where is order 4521?").await;
    let ask = format!("/conversations/{id}/transcript/email");

    let (status, body) = call(&a.base, "POST", &ask, Some(&vera), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("visitor_email_missing")),
        "{body}"
    );
    let (status, _) = call(&a.base, "POST", &ask, Some(&admin), None).await;
    assert_eq!(
        status, 403,
        "agents download transcripts; they are not mailed to them"
    );
    let intruder = visitor(&a.base).await;
    let (status, _) = call(&a.base, "POST", &ask, Some(&intruder), None).await;
    assert_eq!(status, 403, "another visitor's conversation");

    let (status, _) = call(
        &a.base,
        "PATCH",
        "/visitors/me",
        Some(&vera),
        Some(json!({"email": "vera@example.com"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(&a.base, "POST", &ask, Some(&vera), None).await;
    assert_eq!(
        (status, body),
        (
            202,
            json!({"email": "vera@example.com", "sends": "when_resolved"})
        )
    );

    let messages = format!("/conversations/{id}/messages");
    let reply = json!({"body": "It ships tomorrow, tracking BR123", "client_msg_id": "r1"});
    assert_eq!(
        call(&b.base, "POST", &messages, Some(&admin), Some(reply))
            .await
            .0,
        201
    );
    let note =
        json!({"body": "SECRET-NOTE customer is VIP", "client_msg_id": "n1", "private": true});
    assert_eq!(
        call(&b.base, "POST", &messages, Some(&admin), Some(note))
            .await
            .0,
        201
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(smtp.mails().is_empty(), "nothing before the resolution");

    // Resolved on the other replica: the request stored through A is taken there.
    let resolved = Instant::now();
    let status_path = format!("/conversations/{id}/status");
    let (status, _) = call(
        &b.base,
        "POST",
        &status_path,
        Some(&admin),
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(status, 200);
    let mails = smtp.wait_for_mails(1, Duration::from_secs(15)).unwrap();
    let took = resolved.elapsed();
    let mail = &mails[0];
    assert_eq!(header(mail, "To"), Some("vera@example.com"), "{mail}");
    assert!(
        mail.contains("multipart/alternative")
            && mail.contains("text/plain")
            && mail.contains("text/html"),
        "{mail}"
    );
    let unfolded = mail.replace("=\r\n", "").replace("=\n", "");
    for said in ["Where is order 4521?", "It ships tomorrow, tracking BR123"] {
        assert!(unfolded.contains(said), "{said} missing: {mail}");
    }
    assert!(
        !unfolded.contains("SECRET-NOTE"),
        "a note reached the visitor: {mail}"
    );

    // Already resolved: asking again sends at once.
    let (status, body) = call(&a.base, "POST", &ask, Some(&vera), None).await;
    assert_eq!((status, body["sends"].as_str()), (202, Some("now")));
    smtp.wait_for_mails(2, Duration::from_secs(15)).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.mails().len(), 2, "once per request");
    eprintln!(
        "offline: the transcript asked for reached the visitor {took:?} after the resolution"
    );
}

/// A crash between storing the offline message and queuing its mail: the message is stored (as
/// the killed server left it), the mail is not. The widget sends again with the same
/// client_msg_id, and that replay queues the mail: the admin gets it once, however often the
/// visitor retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_offline_message_queues_the_mail_a_crash_lost_and_only_once() {
    use chat_server::model::{Author, AuthorKind, NewMessage};
    use chat_server::store::Store;

    let dir = tempfile::tempdir().unwrap();
    let smtp = spawn_smtp().expect("SMTP server");
    let mut env = vec![
        ("CHAT_STORE", dir.path().display().to_string()),
        (
            "CHAT_UPLOAD_DIR",
            dir.path().join("uploads").display().to_string(),
        ),
        ("CHAT_SIGNING_KEY", common::SIGNING_KEY.to_string()),
        ("CHAT_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
        ("CHAT_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
    ];
    env.extend(mail::env(&smtp));
    let mut first = binary::start(&env);
    let vera = visitor(&first.base).await;
    let c = start_conversation(&first.base, &vera).await;
    assert_eq!(c["status"], "pending", "nobody online: {c}");
    let id = str_of(&c, "id");
    first.guard.kill();

    // What the killed server stored before it died: the message, and no mail.
    let store = chat_server::store::sqlite::SqliteStore::open(dir.path())
        .await
        .unwrap();
    let stored = store
        .append_message(NewMessage {
            conversation_id: id.clone(),
            client_msg_id: Some("offline-1".into()),
            author: Author {
                kind: AuthorKind::Visitor,
                id: str_of(&c["visitor"], "id"),
                name: None,
            },
            body: "Is my order 4521 lost?".into(),
            attachments: Vec::new(),
            private: false,
        })
        .await
        .unwrap();
    drop(store);

    let again = binary::start(&env);
    let path = format!("/conversations/{id}/messages");
    let resend = json!({"body": "Is my order 4521 lost?", "client_msg_id": "offline-1"});
    for _ in 0..2 {
        let (status, m) = call(
            &again.base,
            "POST",
            &path,
            Some(&vera),
            Some(resend.clone()),
        )
        .await;
        assert!(status == 200 || status == 201, "{status} {m}");
        assert_eq!(m["id"], stored.message().id.as_str(), "the stored message");
    }
    let mails = smtp
        .wait_for_mails(1, Duration::from_secs(15))
        .expect("the offline mail after the replay");
    assert!(mails[0].contains("4521"), "{}", mails[0]);
    assert_eq!(header(&mails[0], "To"), Some(ADMIN_EMAIL), "{}", mails[0]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(smtp.mails().len(), 1, "one mail for two replays");
}

/// An agent who sets a conversation pending (waiting for the visitor: nobody assigned, nothing
/// answered yet) parks it; when the desk opens later, only what waited for the desk opens. On
/// the embedded store (the MongoDB one is in the test above and in the store conformance suite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_opening_opens_what_waited_for_it_and_not_what_an_agent_set_pending() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let r = binary::start(&binary::deployment_env("local", store));
    let admin = login(&r.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let ana = agent(&r.base, &admin, "Ana", "agent").await;
    let status_of = |id: String| {
        let (base, admin) = (r.base.clone(), admin.clone());
        async move {
            let (s, c) = call(
                &base,
                "GET",
                &format!("/conversations/{id}"),
                Some(&admin),
                None,
            )
            .await;
            assert_eq!(s, 200, "{c}");
            c["status"].as_str().unwrap().to_string()
        }
    };

    // Open while Ana is online; the admin sets a conversation pending without a word.
    let ana_socket = online(&r, &ana).await;
    until_open(&r.base, true, Instant::now()).await;
    let wanda = visitor(&r.base).await;
    let parked = str_of(&start_conversation(&r.base, &wanda).await, "id");
    say(
        &r.base,
        &wanda,
        &parked,
        "I will send the invoice number later",
    )
    .await;
    let (s, c) = call(
        &r.base,
        "POST",
        &format!("/conversations/{parked}/status"),
        Some(&admin),
        Some(json!({"status": "pending"})),
    )
    .await;
    assert_eq!((s, c["status"].as_str()), (200, Some("pending")), "{c}");

    // Ana leaves; a visitor writes to the closed desk.
    drop(ana_socket);
    until_open(&r.base, false, Instant::now()).await;
    let vera = visitor(&r.base).await;
    let waiting = start_conversation(&r.base, &vera).await;
    assert_eq!(waiting["status"], "pending", "{waiting}");
    let waiting = str_of(&waiting, "id");
    say(&r.base, &vera, &waiting, "Anyone there?").await;

    // Ana is back: the one that waited for the desk opens (in the same pass as the parked one
    // would have, which is older), the parked one stays pending.
    let came = Instant::now();
    let _ana_socket = online(&r, &ana).await;
    while status_of(waiting.clone()).await != "open" {
        assert!(
            came.elapsed() < SETTLE,
            "the waiting conversation never opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status_of(parked).await, "pending");
}
