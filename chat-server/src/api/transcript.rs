//! A conversation's transcript as a download.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Auth, Params};
use crate::chat::transcript::Format;
use crate::error::Error;
use crate::uploads::Download;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TranscriptQuery {
    /// `json` (the default), `text` or `html`.
    format: Option<String>,
}

/// The HTML is a document of ours holding other people's text: nothing in it may run or load,
/// even opened straight from the API's origin.
const HTML_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

#[utoipa::path(
    get, path = "/conversations/{id}/transcript", tag = "conversations",
    operation_id = "get_transcript",
    summary = "A conversation's transcript as JSON, text or HTML",
    description = "Agents get every message, private notes marked as such (`\"private\": true`, \
                   `[private note]`, a \"Private note\" label); a visitor gets its own \
                   conversation without any note. Served as a file \
                   (`Content-Disposition: attachment; filename=\"transcript-<id>.<ext>\"`).",
    params(("id" = String, Path, description = "Conversation id"), TranscriptQuery),
    responses(
        (status = 200, description = "The transcript",
         content(("application/json"), ("text/plain"), ("text/html")),
         headers(("Content-Disposition" = String, description = "attachment; filename=\"transcript-<id>.<ext>\""))),
        (status = 400, description = "`invalid_format`: not json, text or html", body = ErrorBody),
        (status = 403, description = "`forbidden`: another visitor's conversation", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn transcript(
    State(state): State<AppState>,
    Auth(by): Auth,
    Path(id): Path<String>,
    Params(q): Params<TranscriptQuery>,
) -> Result<Response, Error> {
    let format = q
        .format
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()?
        .unwrap_or_default();
    let transcript = state.chat.transcript(&by, &id).await?;
    let filename = transcript.filename(format);
    let disposition = Download {
        filename: &filename,
        content_type: format.content_type(),
    }
    .content_disposition();
    let mut response = format.render(&transcript).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if format == Format::Html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(HTML_POLICY),
        );
    }
    Ok(response)
}
