//! The summary report over REST.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Params};
use crate::chat::reports::Summary;
use crate::error::Error;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Start, inclusive: an RFC 3339 time, or a date (`2026-12-01`: that UTC day's start).
    /// Default: 30 days before `to`.
    from: Option<String>,
    /// End, exclusive: an RFC 3339 time, or a date (`2026-12-07`: that UTC day's end, so the day
    /// is included). Default: now. At most 366 days after `from`.
    to: Option<String>,
}

#[utoipa::path(
    get, path = "/reports/summary", tag = "reports", operation_id = "report_summary",
    summary = "Volumes, response and resolution times and satisfaction of a range (agent)",
    description = "Covers the conversations created in the range. First response: the first \
                   agent message (not a note, not a system message) after the visitor's first \
                   message, timed from that message. Resolution: from creation to resolution, \
                   for the ones resolved now. Percentiles interpolate linearly (the median of an \
                   even count is the mean of the middle two). `by_day` has every UTC day of the \
                   range.",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The summary", body = Summary),
        (status = 400, description = "`invalid_time`: `from` or `to` is neither a time nor a date \
                                      (the message names which); `invalid_range`: from after to; \
                                      `range_too_long`: over 366 days", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn summary(
    State(state): State<AppState>,
    Auth(by): Auth,
    Params(q): Params<SummaryQuery>,
) -> Result<Json<Summary>, Error> {
    let summary = state
        .chat
        .report_summary(&by, q.from.as_deref(), q.to.as_deref())
        .await?;
    Ok(Json(summary))
}
