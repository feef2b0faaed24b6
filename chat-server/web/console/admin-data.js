// Admin area, the tenant's data: "Export" saves everything the desk holds as NDJSON (GET
// /api/v1/export: one object per line with a "kind", the last one "end"). Erasing a visitor and
// retention are API and configuration only (docs/data-rights.md).

import { h } from '../shared/dom.js';
import { downloadFile } from '../shared/client.js';

export class DataSection {
  /** `deps`: { t, origin, token() }. */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.result = h('p', { class: 'form-result', role: 'status' });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.button = h('button', { type: 'button', class: 'primary', on: { click: () => this.export() } }, t.exportData);
    this.element = h(
      'section',
      { class: 'admin-section', 'aria-labelledby': 'admin-data-title' },
      h('h2', { id: 'admin-data-title' }, t.dataTitle),
      h('div', { class: 'card' }, h('p', { class: 'muted' }, t.exportHint), h('div', { class: 'form-actions' }, this.button), this.result, this.error),
    );
  }

  /** Nothing to fetch ahead: the export is made when asked for. */
  load() {}

  async export() {
    const t = this.deps.t;
    this.button.disabled = true;
    this.result.textContent = t.exporting;
    this.error.textContent = '';
    try {
      const name = await downloadFile(this.deps.origin, this.deps.token(), '/api/v1/export', 'atendo-export.ndjson');
      this.result.textContent = t.exported(name);
    } catch (e) {
      this.result.textContent = '';
      this.error.textContent = e.message;
    } finally {
      this.button.disabled = false;
    }
  }
}
