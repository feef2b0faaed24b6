//! Whether anyone is there, for the widget before a conversation starts.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

#[derive(Serialize, ToSchema)]
pub struct AvailabilityBody {
    /// Inside the business hours and at least one agent online: a conversation started now is
    /// `open`; otherwise it starts `pending` and the widget takes a message for later.
    open: bool,
    /// Agents online (not away) on any replica.
    agents_online: usize,
    /// When the business hours next begin, while outside them; null inside them or when the
    /// desk has no hours (CHAT_BUSINESS_HOURS unset: always).
    #[schema(required = true)]
    next_open_at: Option<DateTime<Utc>>,
}

#[utoipa::path(
    get, path = "/availability", tag = "offline", operation_id = "availability",
    summary = "Whether anyone is at the desk now (public)",
    responses((status = 200, description = "Open or not, agents online, the next opening", body = AvailabilityBody)),
)]
pub async fn availability(State(state): State<AppState>) -> Json<AvailabilityBody> {
    let a = state.chat.availability();
    Json(AvailabilityBody {
        open: a.open,
        agents_online: a.agents_online,
        next_open_at: a.next_open_at,
    })
}
