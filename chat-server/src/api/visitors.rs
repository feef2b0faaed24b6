//! A visitor's own contact details.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Body};
use crate::error::Error;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorChange {
    /// Up to 100 printable characters; a field left out stays as it is.
    name: Option<String>,
    /// Where offline answers and transcripts are mailed.
    email: Option<String>,
}

/// A visitor as it sees itself.
#[derive(Serialize, ToSchema)]
pub struct VisitorBody {
    id: String,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    created_at: DateTime<Utc>,
}

#[utoipa::path(
    patch, path = "/visitors/me", tag = "offline", operation_id = "update_visitor",
    summary = "Set the calling visitor's name and email (visitor)",
    request_body = VisitorChange,
    responses(
        (status = 200, description = "The visitor", body = VisitorBody),
        (status = 400, description = "`invalid_email` (the message names the field), \
                                      `invalid_name`, `invalid_body`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not a visitor token", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update_me(
    State(state): State<AppState>,
    Auth(by): Auth,
    Body(b): Body<VisitorChange>,
) -> Result<Json<VisitorBody>, Error> {
    super::charge_write(&state, &by)?;
    let v = state.chat.update_visitor(&by, b.name, b.email).await?;
    Ok(Json(VisitorBody {
        id: v.id,
        name: v.name,
        email: v.email,
        created_at: v.created_at,
    }))
}
