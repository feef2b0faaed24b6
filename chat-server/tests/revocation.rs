//! Revocation across replicas: two real `chat-server` processes on one Redis and one
//! MongoDB-wire server (SecantusDB). What an admin or the agent does on replica A (disable,
//! role change, delete, password change, logout) must stop the agent's tokens on replica B
//! within 2 s: REST answers 401 `token_revoked`, open websockets close with 4001.

mod common;

use std::time::{Duration, Instant};

use common::binary::{self, Replica};
use common::{ADMIN_EMAIL, ADMIN_PASSWORD, Ws, str_of};
use serde_json::{Value, json};

/// The contract's bound for every replica to refuse a revoked token.
const WITHIN: Duration = Duration::from_secs(2);

struct Desk {
    a: Replica,
    b: Replica,
    http: reqwest::Client,
    admin: String,
    _redis: testkit::redis::Redis,
    _mongo: testkit::mongo::Mongo,
}

impl Desk {
    async fn start() -> Self {
        let redis = testkit::redis::redis();
        let mongo = testkit::mongo::mongo();
        let store = mongo.database_uri(&testkit::unique("revocation")).await;
        let mut env = binary::deployment_env(&redis.url, store);
        env.extend([
            ("CHAT_LOGIN_ADDRESS_RATE", "100000".to_string()),
            ("CHAT_LOGIN_ACCOUNT_RATE", "100000".to_string()),
        ]);
        let a = binary::start(&env);
        let b = binary::start(&env);
        let http = reqwest::Client::new();
        let mut desk = Desk {
            a,
            b,
            http,
            admin: String::new(),
            _redis: redis,
            _mongo: mongo,
        };
        desk.admin = desk.login(Side::A, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        desk
    }

    fn base(&self, side: Side) -> &str {
        match side {
            Side::A => &self.a.base,
            Side::B => &self.b.base,
        }
    }

    async fn call(
        &self,
        side: Side,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base(side)))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// An admin's `PATCH /api/v1/agents/{id}`.
    async fn patch_agent(&self, side: Side, id: &str, body: Value) -> (u16, Value) {
        let path = format!("/api/v1/agents/{id}");
        self.call(side, reqwest::Method::PATCH, &path, &self.admin, Some(body))
            .await
    }

    /// `POST {path}` with `token`.
    async fn post(&self, side: Side, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(side, reqwest::Method::POST, path, token, Some(body))
            .await
    }

    async fn login(&self, side: Side, email: &str, password: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/agents/login", self.base(side)))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {email}");
        str_of(&r.json().await.unwrap(), "token")
    }

    /// A new agent (made on A) and its id.
    async fn agent(&self, email: &str) -> String {
        let (s, v) = self
            .call(
                Side::A,
                reqwest::Method::POST,
                "/api/v1/agents",
                &self.admin,
                Some(json!({"email": email, "password": PASSWORD, "name": "Ana", "role": "agent"})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        str_of(&v, "id")
    }

    async fn me(&self, side: Side, token: &str) -> (u16, Value) {
        self.call(side, reqwest::Method::GET, "/api/v1/me", token, None)
            .await
    }

    /// Waits until `token` is refused with `token_revoked` on `side`; how long that took.
    async fn refused_within(&self, side: Side, token: &str, since: Instant) -> Duration {
        loop {
            let (s, v) = self.me(side, token).await;
            if s == 401 {
                assert_eq!(v["error"]["code"], "token_revoked", "{v}");
                return since.elapsed();
            }
            assert_eq!(s, 200, "{v}");
            assert!(
                since.elapsed() < WITHIN,
                "replica {side:?} still accepts the token after {WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn socket(&self, side: Side, token: &str) -> Ws {
        let base = match side {
            Side::A => &self.a.ws_base,
            Side::B => &self.b.ws_base,
        };
        let mut ws = Ws::connect_bearer(base, token).await;
        ws.send(json!({"type": "ping"})).await;
        assert_eq!(ws.expect("pong").await["type"], "pong");
        ws
    }
}

const PASSWORD: &str = "ana-desk-password-2026";

#[derive(Clone, Copy, Debug)]
enum Side {
    A,
    B,
}

/// The socket closes with 4001 within the bound; how long that took.
async fn closed_signed_out(ws: &mut Ws, since: Instant) -> Duration {
    let code = ws.close_code().await;
    assert_eq!(code, Some(4001), "the socket must close as signed out");
    let took = since.elapsed();
    assert!(took < WITHIN, "closed after {took:?}");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_an_agent_on_one_replica_signs_it_out_on_both_within_two_seconds() {
    let d = Desk::start().await;
    let id = d.agent("ana@acme.test").await;
    let token = d.login(Side::B, "ana@acme.test", PASSWORD).await;
    let mut on_a = d.socket(Side::A, &token).await;
    let mut on_b = d.socket(Side::B, &token).await;

    let at = Instant::now();
    let (s, v) = d.patch_agent(Side::A, &id, json!({"disabled": true})).await;
    assert_eq!((s, v["disabled"].clone()), (200, json!(true)), "{v}");
    let rest_b = d.refused_within(Side::B, &token, at).await;
    let rest_a = d.refused_within(Side::A, &token, at).await;
    let ws_a = closed_signed_out(&mut on_a, at).await;
    let ws_b = closed_signed_out(&mut on_b, at).await;
    eprintln!(
        "disabled: REST refused on A after {rest_a:?}, on B after {rest_b:?}; sockets closed \
         4001 on A after {ws_a:?}, on B after {ws_b:?}"
    );

    // A disabled agent cannot sign in again, on either replica.
    for side in [Side::A, Side::B] {
        let r = d
            .http
            .post(format!("{}/api/v1/agents/login", d.base(side)))
            .json(&json!({"email": "ana@acme.test", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "agent_disabled");
    }
    // Enabled again, it signs in with a fresh token, which works everywhere.
    let (s, _) = d
        .patch_agent(Side::B, &id, json!({"disabled": false}))
        .await;
    assert_eq!(s, 200);
    let fresh = d.login(Side::A, "ana@acme.test", PASSWORD).await;
    assert_eq!(d.me(Side::B, &fresh).await.0, 200);
    assert_eq!(
        d.me(Side::B, &token).await.0,
        401,
        "the old token stays revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_only_that_session_on_every_replica() {
    let d = Desk::start().await;
    d.agent("bia@acme.test").await;
    let leaving = d.login(Side::A, "bia@acme.test", PASSWORD).await;
    let staying = d.login(Side::B, "bia@acme.test", PASSWORD).await;
    let mut socket = d.socket(Side::B, &leaving).await;
    let mut other = d.socket(Side::B, &staying).await;

    let at = Instant::now();
    let (s, _) = d
        .call(
            Side::A,
            reqwest::Method::POST,
            "/api/v1/auth/logout",
            &leaving,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let rest = d.refused_within(Side::B, &leaving, at).await;
    let ws = closed_signed_out(&mut socket, at).await;
    eprintln!("logout: REST refused on B after {rest:?}, socket on B closed 4001 after {ws:?}");
    assert_eq!(
        d.me(Side::A, &staying).await.0,
        200,
        "another session stays"
    );
    other.send(json!({"type": "ping"})).await;
    assert_eq!(other.expect("pong").await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_keeps_the_callers_session_and_revokes_every_other() {
    let d = Desk::start().await;
    d.agent("caio@acme.test").await;
    let mine = d.login(Side::A, "caio@acme.test", PASSWORD).await;
    let elsewhere = d.login(Side::B, "caio@acme.test", PASSWORD).await;
    let mut socket = d.socket(Side::A, &elsewhere).await;

    let (s, v) = d
        .post(
            Side::A,
            "/api/v1/agents/me/password",
            &mine,
            json!({"current_password": "wrong password here", "new_password": "x"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (403, json!("wrong_password"))
    );
    let (s, v) = d
        .post(
            Side::A,
            "/api/v1/agents/me/password",
            &mine,
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].clone()),
        (400, json!("weak_password"))
    );

    let at = Instant::now();
    let new_password = "a much longer new passphrase";
    let (s, v) = d
        .post(
            Side::A,
            "/api/v1/agents/me/password",
            &mine,
            json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    d.refused_within(Side::B, &elsewhere, at).await;
    closed_signed_out(&mut socket, at).await;
    assert_eq!(
        d.me(Side::B, &mine).await.0,
        200,
        "the caller stays signed in"
    );
    let r = d
        .http
        .post(format!("{}/api/v1/agents/login", d.b.base))
        .json(&json!({"email": "caio@acme.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the old password no longer works");
    d.login(Side::B, "caio@acme.test", new_password).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_and_a_deletion_revoke_and_the_last_admin_stays() {
    let d = Desk::start().await;
    let id = d.agent("duda@acme.test").await;
    let (s, _) = d.patch_agent(Side::A, &id, json!({"role": "admin"})).await;
    assert_eq!(s, 200);
    // Demoted on A: its token and its socket on B go, for they carry the old role.
    let token = d.login(Side::B, "duda@acme.test", PASSWORD).await;
    let mut socket = d.socket(Side::B, &token).await;
    let at = Instant::now();
    let (s, v) = d.patch_agent(Side::A, &id, json!({"role": "agent"})).await;
    assert_eq!((s, v["role"].clone()), (200, json!("agent")));
    let rest = d.refused_within(Side::B, &token, at).await;
    let ws = closed_signed_out(&mut socket, at).await;
    eprintln!(
        "role change: REST refused on B after {rest:?}, socket on B closed 4001 after {ws:?}"
    );

    // Deleted on A: its token and its socket on B go, and its open conversation waits
    // unassigned.
    let token = d.login(Side::B, "duda@acme.test", PASSWORD).await;
    let mut socket = d.socket(Side::B, &token).await;
    let visitor: Value = d
        .http
        .post(format!("{}/api/v1/visitors", d.a.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let v_token = str_of(&visitor, "token");
    let (_, c) = d
        .post(Side::A, "/api/v1/conversations", &v_token, json!({}))
        .await;
    let c = str_of(&c, "id");
    let (s, _) = d
        .call(
            Side::B,
            reqwest::Method::POST,
            &format!("/api/v1/conversations/{c}/assign"),
            &d.admin,
            Some(json!({"agent_id": id})),
        )
        .await;
    assert_eq!(s, 200);
    let at = Instant::now();
    let (s, _) = d
        .call(
            Side::A,
            reqwest::Method::DELETE,
            &format!("/api/v1/agents/{id}"),
            &d.admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let rest = d.refused_within(Side::B, &token, at).await;
    let ws = closed_signed_out(&mut socket, at).await;
    eprintln!("deletion: REST refused on B after {rest:?}, socket on B closed 4001 after {ws:?}");
    let (_, conv) = d
        .call(
            Side::B,
            reqwest::Method::GET,
            &format!("/api/v1/conversations/{c}"),
            &d.admin,
            None,
        )
        .await;
    assert_eq!(conv["assignee"], Value::Null, "{conv}");

    // The only admin can neither demote nor disable itself, nor be deleted.
    let (_, me) = d.me(Side::A, &d.admin).await;
    let admin_id = str_of(&me, "id");
    for body in [json!({"role": "agent"}), json!({"disabled": true})] {
        let (s, v) = d.patch_agent(Side::A, &admin_id, body).await;
        assert_eq!((s, v["error"]["code"].clone()), (409, json!("last_admin")));
    }
    let (s, v) = d
        .call(
            Side::B,
            reqwest::Method::DELETE,
            &format!("/api/v1/agents/{admin_id}"),
            &d.admin,
            None,
        )
        .await;
    assert_eq!((s, v["error"]["code"].clone()), (409, json!("last_admin")));
    assert_eq!(d.me(Side::B, &d.admin).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_made_on_one_replica_works_on_both_and_deleting_it_stops_it_on_both() {
    let d = Desk::start().await;
    let (s, made) = d
        .post(
            Side::A,
            "/api/v1/api-tokens",
            &d.admin,
            json!({"name": "crm sync"}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let token = str_of(&made, "token");
    let id = str_of(&made, "id");
    assert_eq!(d.me(Side::B, &token).await.0, 200);

    let at = Instant::now();
    let (s, _) = d
        .call(
            Side::A,
            reqwest::Method::DELETE,
            &format!("/api/v1/api-tokens/{id}"),
            &d.admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let took = d.refused_within(Side::B, &token, at).await;
    eprintln!("API token deleted on A: refused on B after {took:?}");
}
