// Limits the server enforces, checked in the browser the way the server counts them.

/** The server's default CHAT_MAX_MESSAGE_BYTES, for a server whose branding does not say. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4096;

const encoder = new TextEncoder();

/**
 * Length in UTF-8 bytes, as the server counts a message body. A `maxlength` attribute counts
 * UTF-16 units instead: "ção" is 3 units but 5 bytes, so 4,000 accented characters pass a
 * maxlength of 4096 and fail on the server.
 */
export function utf8Length(text) {
  return encoder.encode(text).length;
}

/** The server's limit from `GET /api/v1/branding`, else the default. */
export function maxMessageBytes(branding) {
  const n = branding && branding.max_message_bytes;
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_MESSAGE_BYTES;
}
