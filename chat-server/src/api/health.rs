use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::json;

use super::AppState;
use super::error::ApiError;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn live() -> impl IntoResponse {
    Json(json!({"status": "live"}))
}

pub async fn ready(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let not_ready =
        |what: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", what);
    if state.shutdown.is_cancelled() {
        return Err(not_ready("shutting down".into()));
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.chat.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(not_ready(e.to_string())),
        Err(_) => return Err(not_ready("store did not answer within 2 s".into())),
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.chat.publisher.ping()).await {
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
        state.chat.metrics.encode(),
    )
}
