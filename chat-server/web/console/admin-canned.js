// Admin area, canned responses: the list, and one form that creates a response or, after "Edit"
// on a row, replaces that one. The server's refusals (409 duplicate_shortcut, a bad shortcut, an
// empty or oversize text) show on the field they are about.

import { h, replace } from '../shared/dom.js';
import { allCanned } from './canned.js';
import { field, showError, clearErrors, errorText } from './fields.js';

export class CannedSection {
  /** `deps`: { request, t }. */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.editing = null; // the response being edited, or null for a new one
    this.list = h('tbody');
    this.empty = h('p', { class: 'muted' }, t.noCanned);
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.fields = {
      shortcut: field('canned-shortcut', t.shortcut, 'input', { autocomplete: 'off', required: true }),
      body: field('canned-body', t.text, 'textarea', { rows: '3', required: true }),
    };
    this.formTitle = h('h3', { id: 'canned-form-title' }, t.newCanned);
    this.result = h('p', { class: 'form-result', role: 'status' });
    this.cancel = h('button', { type: 'button', hidden: true, on: { click: () => this.edit(null) } }, t.cancel);
    this.formError = h('p', { class: 'form-error', role: 'alert' });
    this.form = h(
      'form',
      { id: 'canned-form', class: 'card admin-form', 'aria-labelledby': 'canned-form-title', novalidate: true, on: { submit: (e) => this.save(e) } },
      this.formTitle,
      this.fields.shortcut.wrap,
      this.fields.body.wrap,
      this.formError,
      this.result,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t.save), this.cancel),
    );
    this.element = h(
      'section',
      { class: 'admin-section', 'aria-labelledby': 'admin-canned-title' },
      h('h2', { id: 'admin-canned-title' }, t.cannedResponses),
      h(
        'table',
        { class: 'admin-table canned-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t.shortcut), h('th', { scope: 'col' }, t.text), h('th', { scope: 'col' }, t.actions))),
        this.list,
      ),
      this.empty,
      this.error,
      this.form,
    );
  }

  async load() {
    const t = this.deps.t;
    try {
      const items = await allCanned(this.deps.request);
      this.error.textContent = '';
      this.empty.hidden = items.length > 0;
      replace(
        this.list,
        items.map((c) =>
          h(
            'tr',
            { 'data-canned-id': c.id },
            h('td', {}, h('code', {}, `/${c.shortcut}`)),
            h('td', { class: 'canned-text' }, c.body),
            h(
              'td',
              { class: 'row-actions' },
              h('button', { type: 'button', 'aria-label': `${t.edit} /${c.shortcut}`, on: { click: () => this.edit(c) } }, t.edit),
              h('button', { type: 'button', class: 'danger', 'aria-label': `${t.delete} /${c.shortcut}`, on: { click: () => this.remove(c) } }, t.delete),
            ),
          ),
        ),
      );
    } catch (e) {
      this.error.textContent = e.message;
    }
  }

  /** Fills the form with `c` to replace it, or empties it for a new one (`null`). */
  edit(c) {
    const t = this.deps.t;
    this.editing = c;
    this.formTitle.textContent = c ? t.editCanned : t.newCanned;
    this.cancel.hidden = !c;
    this.fields.shortcut.control.value = c ? c.shortcut : '';
    this.fields.body.control.value = c ? c.body : '';
    this.result.textContent = '';
    clearErrors(this.fields, this.formError);
    this.fields.shortcut.control.focus();
  }

  async save(e) {
    e.preventDefault();
    const body = { shortcut: this.fields.shortcut.control.value.trim(), body: this.fields.body.control.value };
    const c = this.editing;
    clearErrors(this.fields, this.formError);
    this.result.textContent = '';
    try {
      if (c) await this.deps.request('PUT', `/api/v1/canned-responses/${encodeURIComponent(c.id)}`, body);
      else await this.deps.request('POST', '/api/v1/canned-responses', body);
      this.edit(null);
      this.result.textContent = this.deps.t.saved;
      await this.load();
    } catch (err) {
      showError(err, this.deps.t, this.fields, this.formError, { duplicate_shortcut: 'shortcut', empty_body: 'body', body_too_large: 'body' });
    }
  }

  async remove(c) {
    try {
      await this.deps.request('DELETE', `/api/v1/canned-responses/${encodeURIComponent(c.id)}`);
      if (this.editing && this.editing.id === c.id) this.edit(null);
      await this.load();
    } catch (e) {
      this.error.textContent = errorText(e, this.deps.t);
    }
  }
}
