// Admin area, webhooks: one endpoint's delivery log (GET /api/v1/webhooks/{id}/deliveries),
// every attempt newest first, a page at a time ("Older" follows the `next` cursor). Each attempt
// says in words whether it was delivered, will be tried again or was given up, and why (the
// receiver's HTTP status or the error), so an admin can tell a broken receiver from a slow one.

import { h, replace } from '../shared/dom.js';
import { errorText } from './fields.js';

/** Attempts per page: a screenful; older ones are a click away. */
export const LOG_PAGE = 20;

/**
 * What an attempt came to, for people: `kind` (the status, for styling), `label` (the status
 * in words) and `detail` (the receiver's HTTP status, or why there was none; '' when neither).
 * A status this console does not know yet keeps the server's word.
 */
export function attemptOutcome(a, t) {
  const kind = ['delivered', 'retrying', 'failed'].includes(a.status) ? a.status : 'unknown';
  const label = t.webhooks.statuses[a.status] || a.status;
  const status = a.response_status ? `HTTP ${a.response_status}` : '';
  // A failed attempt's error already says "HTTP 500" when the receiver answered; "timeout" or a
  // refused address when it did not.
  let detail = a.error || status;
  if (a.error && status && !a.error.includes(String(a.response_status))) detail = `${status}: ${a.error}`;
  return { kind, label, detail };
}

/** When an attempt was made, to the second (retries can be seconds apart); the date too when
 * it was not today. */
export function attemptTime(iso, locale, today = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const opts = { hour: '2-digit', minute: '2-digit', second: '2-digit' };
  if (d.toDateString() !== today.toDateString()) Object.assign(opts, { day: '2-digit', month: 'short' });
  return new Intl.DateTimeFormat(locale, opts).format(d);
}

/** `?limit=` and, after the first page, `&before=`: the deliveries path of one endpoint. */
export function deliveriesPath(id, before = null, limit = LOG_PAGE) {
  const cursor = before ? `&before=${encodeURIComponent(before)}` : '';
  return `/api/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=${limit}${cursor}`;
}

export class DeliveryLog {
  /** `deps`: { request, t, locale }. Hidden until `open(endpoint)`. */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.endpoint = null;
    this.next = null;
    // Focused when opened, so a screen reader announces whose log this is.
    this.title = h('h3', { id: 'webhook-log-title', tabindex: '-1' });
    this.rows = h('tbody');
    this.empty = h('p', { class: 'muted' }, t.webhooks.noDeliveries);
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.older = h('button', { type: 'button', hidden: true, on: { click: () => this.fetchOlder() } }, t.webhooks.older);
    this.element = h(
      'section',
      { id: 'webhook-log', class: 'card webhook-log', 'aria-labelledby': 'webhook-log-title', hidden: true },
      h(
        'div',
        { class: 'log-head' },
        this.title,
        h('button', { type: 'button', on: { click: () => this.refresh() } }, t.webhooks.refresh),
        h('button', { type: 'button', on: { click: () => this.close() } }, t.webhooks.closeLog),
      ),
      h(
        'table',
        { class: 'admin-table deliveries-table' },
        h(
          'thead',
          {},
          h('tr', {}, [t.webhooks.at, t.webhooks.event, t.webhooks.attempt, t.webhooks.outcome].map((label) => h('th', { scope: 'col' }, label))),
        ),
        this.rows,
      ),
      this.empty,
      this.error,
      this.older,
    );
  }

  /** Shows `endpoint`'s log from its newest attempt. */
  async open(endpoint) {
    this.endpoint = endpoint;
    this.title.textContent = this.deps.t.webhooks.logFor(endpoint.url);
    this.element.hidden = false;
    await this.refresh();
    this.title.focus();
  }

  close() {
    this.endpoint = null;
    this.element.hidden = true;
    replace(this.rows);
  }

  /** Whether the log shows `id` (an endpoint being deleted takes its log with it). */
  shows(id) {
    return !!this.endpoint && this.endpoint.id === id;
  }

  /** The newest page again: the sender keeps adding attempts while the log is open. */
  async refresh() {
    if (!this.endpoint) return;
    const id = this.endpoint.id;
    try {
      const page = await this.deps.request('GET', deliveriesPath(id));
      if (!this.shows(id)) return; // another endpoint's log was opened meanwhile
      replace(this.rows, page.deliveries.map((a) => this.row(a)));
      this.shown(page);
    } catch (e) {
      this.error.textContent = errorText(e, this.deps.t);
    }
  }

  async fetchOlder() {
    if (!this.endpoint || !this.next) return;
    const id = this.endpoint.id;
    try {
      const page = await this.deps.request('GET', deliveriesPath(id, this.next));
      if (!this.shows(id)) return;
      this.rows.append(...page.deliveries.map((a) => this.row(a)));
      this.shown(page);
    } catch (e) {
      this.error.textContent = errorText(e, this.deps.t);
    }
  }

  shown(page) {
    this.error.textContent = '';
    this.next = page.next;
    this.older.hidden = !page.next;
    this.empty.hidden = this.rows.childElementCount > 0;
  }

  row(a) {
    const t = this.deps.t;
    const o = attemptOutcome(a, t);
    return h(
      'tr',
      { 'data-attempt-id': a.id, 'data-status': a.status },
      h('td', { 'data-label': t.webhooks.at }, h('time', { datetime: a.at }, attemptTime(a.at, this.deps.locale))),
      h('td', { 'data-label': t.webhooks.event }, h('code', {}, a.type), h('span', { class: 'event-id muted' }, a.event_id)),
      h('td', { 'data-label': t.webhooks.attempt }, String(a.attempt)),
      h(
        'td',
        { 'data-label': t.webhooks.outcome, class: 'outcome' },
        h('span', { class: `chip delivery-${o.kind}` }, o.label),
        o.detail ? h('span', { class: 'outcome-detail' }, o.detail) : null,
      ),
    );
  }
}
