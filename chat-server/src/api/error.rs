//! The one place the core's errors become HTTP responses: `{"error": {"code", "message"}}`
//! with the status their [`Kind`] maps to.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, Kind};

pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::Limited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status_of(self.kind);
        // A refusal that passes with time (503 busy under a flood) is load shedding, not a fault:
        // logging it at ERROR would let any client fill the logs.
        if status.is_server_error() && self.retry_after.is_none() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let mut response = error_response(status, self.code, &self.message);
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// The contract's error body, `{"error": {"code", "message"}}`, for every refusal.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "not_found", "message": "conversation 01j… not found"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code clients act on; each operation lists the ones it returns.
    pub code: String,
    /// A human sentence naming what is wrong; not for matching.
    pub message: String,
}

/// The contract's error body with an explicit status, for refusals only the HTTP layer knows
/// (a body that is not JSON gets axum's own 415 or 422, not a domain kind).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message: message.to_string(),
        },
    };
    (status, Json(body)).into_response()
}
