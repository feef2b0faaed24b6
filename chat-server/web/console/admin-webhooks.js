// Admin area, webhooks (docs/webhooks.md): the endpoints Atendo POSTs events to, a form that
// registers one (URL and events), its signing secret shown once (the API never returns it again),
// delete after an inline confirmation, and each endpoint's delivery log (webhook-log.js). The
// API has no update or secret rotation: a changed URL or a leaked secret is a new endpoint.

import { h, replace, formatTime } from '../shared/dom.js';
import { allPages } from '../shared/client.js';
import { field, showError, clearErrors, errorText } from './fields.js';
import { DeliveryLog } from './webhook-log.js';

/** The event types the server sends (crate::webhooks::EVENT_TYPES), in its order. */
export const EVENT_TYPES = ['conversation.created', 'conversation.updated', 'message.created', 'rating.created'];

/** Every endpoint, page by page (`next` until null): a tenant has a handful. */
function allEndpoints(request) {
  return allPages(request, '/api/v1/webhooks', 'webhooks');
}

export class WebhooksSection {
  /** `deps`: { request, t, locale }. */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    const w = t.webhooks;
    this.list = h('tbody');
    this.empty = h('p', { class: 'muted' }, w.none);
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.fields = { url: field('webhook-url', w.url, 'input', { type: 'url', inputmode: 'url', autocomplete: 'off', placeholder: 'https://', required: true }) };
    this.events = h(
      'div',
      { class: 'member-list event-list' },
      EVENT_TYPES.map((type) =>
        h('label', { class: 'member' }, h('input', { type: 'checkbox', name: 'events', value: type }), ' ', h('code', {}, type), h('span', { class: 'muted' }, ` (${w.eventHints[type]})`)),
      ),
    );
    const eventsError = h('span', { id: 'webhook-events-error', class: 'field-error form-error', role: 'alert' });
    // `events` and `events[i]` refusals (invalid_events) belong to the checkboxes.
    this.fields.events = { control: this.events, error: eventsError };
    this.result = h('p', { class: 'form-result', role: 'status' });
    this.formError = h('p', { class: 'form-error', role: 'alert' });
    this.form = h(
      'form',
      { id: 'webhook-form', class: 'card admin-form', 'aria-labelledby': 'webhook-form-title', novalidate: true, on: { submit: (e) => this.create(e) } },
      h('h3', { id: 'webhook-form-title' }, w.newEndpoint),
      this.fields.url.wrap,
      h('fieldset', { class: 'members', 'aria-describedby': 'webhook-events-error' }, h('legend', {}, w.events), this.events, eventsError),
      this.formError,
      this.result,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t.create)),
    );
    this.secret = h('div', { class: 'secret-slot' });
    this.log = new DeliveryLog(deps);
    this.heading = h('h2', { id: 'admin-webhooks-title', tabindex: '-1' }, w.title);
    this.element = h(
      'section',
      { class: 'admin-section', 'aria-labelledby': 'admin-webhooks-title' },
      this.heading,
      h('p', { class: 'muted' }, w.hint),
      h(
        'table',
        { class: 'admin-table webhooks-table' },
        h('thead', {}, h('tr', {}, [w.url, w.events, w.createdAt, t.actions].map((label) => h('th', { scope: 'col' }, label)))),
        this.list,
      ),
      this.empty,
      this.error,
      this.log.element,
      this.secret,
      this.form,
    );
  }

  /** The area is shown again: a secret from before is not shown a second time. */
  async load() {
    replace(this.secret);
    await this.refresh();
    await this.log.refresh();
  }

  async refresh() {
    try {
      const endpoints = await allEndpoints(this.deps.request);
      this.error.textContent = '';
      this.empty.hidden = endpoints.length > 0;
      replace(this.list, endpoints.flatMap((e) => this.row(e)));
    } catch (e) {
      this.error.textContent = errorText(e, this.deps.t);
    }
  }

  /** An endpoint's row, and under it the line for what the server refused about it. */
  row(e) {
    const t = this.deps.t;
    const w = t.webhooks;
    const error = h('td', { colspan: '4', class: 'form-error', role: 'alert' });
    const actions = h('td', { class: 'row-actions' });
    const idle = () =>
      replace(
        actions,
        h('button', { type: 'button', 'aria-label': `${w.showLog} ${e.url}`, on: { click: () => this.log.open(e) } }, w.showLog),
        h('button', { type: 'button', class: 'danger', 'aria-label': `${t.delete} ${e.url}`, on: { click: () => confirming() } }, t.delete),
      );
    const confirming = () => {
      const yes = h('button', { type: 'button', class: 'danger', on: { click: () => this.remove(e, error) } }, t.delete);
      replace(
        actions,
        h('span', { class: 'confirm-text' }, w.confirmDelete(e.url)),
        yes,
        h('button', { type: 'button', on: { click: () => (idle(), actions.querySelector('button.danger').focus()) } }, t.cancel),
      );
      yes.focus();
    };
    idle();
    return [
      h(
        'tr',
        { 'data-webhook-id': e.id },
        h('td', { 'data-label': w.url, class: 'webhook-url' }, e.url),
        h('td', { 'data-label': w.events }, e.events.map((type) => h('code', { class: 'event-type' }, type))),
        h('td', { 'data-label': w.createdAt }, h('time', { datetime: e.created_at }, formatTime(e.created_at, this.deps.locale))),
        actions,
      ),
      h('tr', { class: 'row-error', 'data-error-for': e.id }, error),
    ];
  }

  checked() {
    return [...this.events.querySelectorAll('input:checked')].map((i) => i.value);
  }

  async create(ev) {
    ev.preventDefault();
    const body = { url: this.fields.url.control.value.trim(), events: this.checked() };
    clearErrors(this.fields, this.formError);
    this.result.textContent = '';
    replace(this.secret);
    try {
      const made = await this.deps.request('POST', '/api/v1/webhooks', body);
      this.form.reset();
      this.result.textContent = this.deps.t.webhooks.endpointCreated(made.url);
      this.showSecret(made);
      await this.refresh();
    } catch (err) {
      showError(err, this.deps.t, this.fields, this.formError, { invalid_url: 'url', webhook_url_forbidden: 'url', invalid_events: 'events' });
    }
  }

  /** The secret of the endpoint just made, with a copy button, until "Done" or the area is left. */
  showSecret(made) {
    const w = this.deps.t.webhooks;
    const input = h('input', { id: 'webhook-secret', class: 'secret-value', readonly: true, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'webhook-secret-once' });
    input.value = made.secret;
    const status = h('span', { class: 'form-result', role: 'status' });
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        status.textContent = w.copied;
      } catch {
        // No clipboard (an insecure origin, a refused permission): select it for a manual copy.
        input.select();
        status.textContent = w.copyByHand;
      }
    };
    replace(
      this.secret,
      h(
        'div',
        { class: 'card secret-once', role: 'region', 'aria-labelledby': 'webhook-secret-title' },
        h('h3', { id: 'webhook-secret-title' }, w.secretFor(made.url)),
        h('p', { id: 'webhook-secret-once', class: 'secret-warning' }, w.secretOnce),
        h('label', { for: 'webhook-secret' }, w.secret),
        h(
          'div',
          { class: 'secret-row' },
          input,
          h('button', { type: 'button', class: 'primary', on: { click: copy } }, w.copy),
          h('button', { type: 'button', on: { click: () => replace(this.secret) } }, w.done),
        ),
        status,
      ),
    );
    input.focus();
    input.select();
  }

  async remove(e, error) {
    error.textContent = '';
    try {
      await this.deps.request('DELETE', `/api/v1/webhooks/${encodeURIComponent(e.id)}`);
      if (this.log.shows(e.id)) this.log.close();
      await this.refresh();
      // The row and its buttons are gone: the keyboard goes on from the section's heading.
      this.heading.focus();
    } catch (err) {
      error.textContent = errorText(err, this.deps.t);
    }
  }
}
