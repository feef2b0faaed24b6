//! The REST contract as an OpenAPI 3.1 document generated from the handlers.
//!
//! Every v1 route is registered with its `#[utoipa::path]` through `routes!` in `api::routes`,
//! so a route cannot be served undocumented, and handlers return typed bodies (`Json<T>` with
//! `T: ToSchema`), so the schemas are what the code sends. The document is served at
//! `GET /api/v1/openapi.json` and committed as `docs/openapi.json`; `tests/openapi.rs` fails when
//! the committed copy differs from [`json`]. The websocket frames are in docs/websocket.md, and
//! their JSON Schemas are components here (`ClientFrame`, `ServerFrame`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::protocol::{ClientFrame, ServerFrame};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Response as Answer, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atendo chat API",
        version = "1.1",
        description = "The public REST contract of one tenant's chat-server (chat-api v1 with the v1.1 \
                       additions). Bodies are JSON (UTF-8), times RFC 3339 UTC strings, ids opaque \
                       strings. The tenant is implicit in the host. Every refusal carries \
                       `{\"error\": {\"code\", \"message\"}}`; each operation lists the codes it \
                       returns. Lists are newest first and paged with `?limit=` (default 50, at most \
                       200) and `?before=<next cursor>`. The websocket (`GET /api/v1/ws`) is described \
                       in docs/websocket.md.",
        license(name = "Apache-2.0"),
    ),
    paths(super::health::live, super::health::ready),
    components(schemas(ClientFrame, ServerFrame)),
    tags(
        (name = "identity", description = "Visitors, agents, sign-in and sign-out"),
        (name = "conversations", description = "Conversations and their messages"),
        (name = "attachments", description = "Uploads and downloads of attachments"),
        (name = "teams", description = "Teams conversations are routed to"),
        (name = "canned responses", description = "Saved replies agents insert with `/shortcut`"),
        (name = "search", description = "Search over every message"),
        (name = "webhooks", description = "Endpoints that receive signed events (docs/webhooks.md)"),
        (name = "reports", description = "Satisfaction ratings and the desk's summary report"),
        (name = "data rights", description = "Export, erasure (GDPR/LGPD); transcripts are under conversations"),
        (name = "branding", description = "The tenant's look, public"),
        (name = "offline", description = "When no one is there: availability, a visitor's contact \
                                          details, transcripts by mail"),
        (name = "websocket", description = "The live channel; frames in docs/websocket.md"),
        (name = "health", description = "Probes for the orchestrator"),
        (name = "meta", description = "This document"),
    ),
)]
struct ApiDoc;

/// The document the code describes: the v1 routes (nested under `/api/v1`), health, branding,
/// and what every operation shares ([`Shared`]).
pub fn document() -> Document {
    let (_, mut doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", super::routes::documented())
        .split_for_parts();
    doc.merge(crate::web::WebDoc::openapi());
    Shared.modify(&mut doc);
    doc
}

/// [`document`] as pretty-printed JSON with a final newline: what is served and committed.
/// Key order is stable: utoipa keeps paths, schemas and properties in sorted maps.
pub fn json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serializes");
    text.push('\n');
    text
}

/// Built once: the routes cannot change while the process runs.
fn served() -> &'static (Bytes, String) {
    static SERVED: OnceLock<(Bytes, String)> = OnceLock::new();
    SERVED.get_or_init(|| {
        let text = json();
        // The web assets' validator: a change detector, not a security measure.
        let etag = crate::web::etag(text.as_bytes());
        (Bytes::from(text), etag)
    })
}

#[utoipa::path(
    get, path = "/openapi.json", tag = "meta", operation_id = "openapi",
    summary = "This document",
    description = "Public; the same bytes as docs/openapi.json in the repository. Carries an ETag; \
                   `If-None-Match` with it answers 304.",
    responses(
        (status = 200, description = "The OpenAPI document", body = Object),
        (status = 304, description = "Not modified (If-None-Match matched the ETag)"),
    ),
)]
pub async fn openapi_json(request: HeaderMap) -> Response {
    let (body, etag) = served();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag.as_str()));
    let response = if fresh {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
    } else {
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.clone()))
    };
    let mut response = response.expect("static response parts are valid");
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex etag"));
    // Public and the same for every caller; it changes only with a deploy, so a short max-age
    // and the ETag keep it fresh enough.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// What every operation shares, added once here rather than repeated on each handler: the bearer
/// scheme, 401 on operations that need a token, the refusals of a JSON body read through
/// `extract::Body`, and the store/bus outages and timeouts any handler can meet.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            // Answered from memory: no store, bus or handler work that could fail.
            let fixed = STATIC.contains(&path.as_str());
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                shared_responses(operation, fixed);
            }
        }
    }
}

/// Routes that answer from memory.
const STATIC: [&str; 5] = [
    "/health/live",
    "/api/v1/availability",
    "/api/v1/branding",
    "/api/v1/auth/config",
    "/api/v1/openapi.json",
];

fn shared_responses(operation: &mut Operation, fixed: bool) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    // Every handler whose body is required reads it through `extract::Body`, whose refusals
    // are these; the one optional body (POST /visitors) is parsed by its handler.
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|b| b.required == Some(utoipa::openapi::Required::True));
    let responses = &mut operation.responses.responses;
    if json_body {
        add(responses, "400", "`invalid_body`: the body is not JSON");
        add(responses, "413", "`invalid_body`: the body is over 64 KiB");
        add(
            responses,
            "415",
            "`invalid_body`: Content-Type is not application/json",
        );
        add(
            responses,
            "422",
            "`invalid_body`: the JSON does not have the fields and types this operation takes",
        );
    }
    if secured {
        add(
            responses,
            "401",
            "`unauthorized`: no token, or one that is malformed, expired or from another \
             deployment; `token_revoked`: the token was signed out",
        );
    }
    if fixed {
        return;
    }
    if !responses.contains_key("503") {
        add(
            responses,
            "503",
            "`store_unavailable`, `bus_unavailable`, `object_storage_unavailable`: a dependency \
             did not answer; `timeout`: the request took longer than CHAT_HTTP_REQUEST_TIMEOUT_SECS",
        );
    }
    add(
        responses,
        "500",
        "`internal`, `store_error`: a fault of the server",
    );
}

/// Adds the error response `status` with `codes`, or names `codes` in the one the handler
/// declared.
fn add(responses: &mut BTreeMap<String, RefOr<Answer>>, status: &str, codes: &str) {
    match responses.get_mut(status) {
        Some(RefOr::T(existing)) => {
            existing.description = format!("{}; {codes}", existing.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            responses.insert(status.to_string(), RefOr::T(error(codes)));
        }
    }
}

fn error(description: &str) -> Answer {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
