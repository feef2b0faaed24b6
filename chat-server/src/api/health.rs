use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;
use crate::error::{Error, Kind};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What must answer for this replica to be ready.
#[derive(Clone)]
pub struct Dependencies {
    pub store: std::sync::Arc<dyn crate::store::Store>,
    pub bus: std::sync::Arc<dyn crate::bus::Bus>,
}

pub async fn live() -> impl IntoResponse {
    Json(json!({"status": "live"}))
}

pub async fn ready(State(state): State<AppState>) -> Result<impl IntoResponse, Error> {
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
    Ok(Json(json!({"status": "ready"})))
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
