use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use crate::error::{Error, Kind};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What must answer for this replica to be ready.
#[derive(Clone)]
pub struct Dependencies {
    pub store: std::sync::Arc<dyn crate::store::Store>,
    pub bus: std::sync::Arc<dyn crate::bus::Bus>,
}

/// `{"status": "live"}` or `{"status": "ready"}`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

#[utoipa::path(
    get, path = "/health/live", tag = "health", operation_id = "live",
    summary = "200 while the process runs",
    responses((status = 200, description = "Live", body = Health, example = json!({"status": "live"}))),
)]
pub async fn live() -> Json<Health> {
    Json(Health { status: "live" })
}

#[utoipa::path(
    get, path = "/health/ready", tag = "health", operation_id = "ready",
    summary = "200 when the store and the bus answer",
    responses(
        (status = 200, description = "Ready", body = Health, example = json!({"status": "ready"})),
        (status = 503, description = "`not_ready`: the message says what did not answer, or that \
                                      the replica is shutting down", body = ErrorBody),
    ),
)]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Health>, Error> {
    let not_ready = |what: String| Error::new(Kind::Unavailable, "not_ready", what);
    if state.shutdown.is_cancelled() {
        return Err(not_ready("shutting down".into()));
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.dependencies.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(not_ready(e.to_string())),
        Err(_) => return Err(not_ready("store did not answer within 2 s".into())),
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.dependencies.bus.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(not_ready(e.to_string())),
        Err(_) => return Err(not_ready("bus did not answer within 2 s".into())),
    }
    Ok(Json(Health { status: "ready" }))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.delivery.metrics.encode(),
    )
}
