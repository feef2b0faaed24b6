// Form fields with an error line of their own, so the server's refusal shows next to the field it
// is about (and is announced, and tied to the field with aria-describedby / aria-invalid). The
// server names the field at the start of its message ("shortcut must…", "labels[1] …"); a few
// codes get words of the console's own (t.errors), the rest keep the server's sentence.

import { h } from '../shared/dom.js';

/** A label, a control (`tag`, `attrs`) and its error line; `id` names the control. */
export function field(id, label, tag = 'input', attrs = {}) {
  const error = h('span', { id: `${id}-error`, class: 'field-error form-error', role: 'alert' });
  const control = h(tag, { id, name: attrs.name || id, 'aria-describedby': `${id}-error`, ...attrs });
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), control, error);
  return { wrap, control, error };
}

/** The words to show for an ApiError: the console's own for known codes, else the server's. */
export function errorText(err, t) {
  return (t.errors && t.errors[err.code]) || err.message;
}

/**
 * Shows `err` on the field it is about (`fields`: name -> field; `codes`: code -> name, for
 * codes whose message does not start with the field's name), else on `general`.
 */
export function showError(err, t, fields, general, codes = {}) {
  clearErrors(fields, general);
  const name = codes[err.code] || Object.keys(fields).find((n) => (err.message || '').startsWith(n));
  const f = name && fields[name];
  if (f) {
    f.error.textContent = errorText(err, t);
    f.control.setAttribute('aria-invalid', 'true');
    f.control.focus();
  } else if (general) {
    general.textContent = errorText(err, t);
  }
}

export function clearErrors(fields, general) {
  for (const f of Object.values(fields)) {
    f.error.textContent = '';
    f.control.removeAttribute('aria-invalid');
  }
  if (general) general.textContent = '';
}
