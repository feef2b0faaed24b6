// My account (#/account), for every agent: changing one's own password (or, signed in through
// single sign-on, where to change it: the issuer). The server keeps the
// session that asked and revokes every other (other tabs and devices are signed out with 4001),
// so the console goes on as it was. Should this token be revoked after all (one issued without a
// session), the owner signs in again with a notice rather than leaving a console that fails.

import { h } from '../shared/dom.js';
import { field, showError, clearErrors } from './fields.js';

export class AccountView {
  /**
   * `deps`: { request, t, managedBy (the issuer's name for a single sign-on session, else null),
   * stillSignedIn() -> Promise<bool>, signOut(message) }.
   */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.element = document.getElementById('account-view');
    if (deps.managedBy) {
      this.element.append(h('p', { id: 'password-managed', class: 'card muted' }, t.passwordManagedBy(deps.managedBy)));
      this.fields = {};
      return;
    }
    this.fields = {
      current_password: field('current-password', t.currentPassword, 'input', { type: 'password', autocomplete: 'current-password', required: true }),
      new_password: field('new-password', t.newPassword, 'input', { type: 'password', autocomplete: 'new-password', required: true }),
    };
    this.result = h('p', { class: 'form-result', role: 'status' });
    this.formError = h('p', { class: 'form-error', role: 'alert' });
    this.form = h(
      'form',
      { id: 'password-form', class: 'card admin-form', 'aria-labelledby': 'password-title', novalidate: true, on: { submit: (e) => this.save(e) } },
      h('h2', { id: 'password-title' }, t.changePassword),
      this.fields.current_password.wrap,
      this.fields.new_password.wrap,
      this.formError,
      this.result,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t.save)),
    );
    this.element.append(this.form);
  }

  show() {
    if (!this.form) return;
    this.result.textContent = '';
    clearErrors(this.fields, this.formError);
  }

  async save(e) {
    e.preventDefault();
    const t = this.deps.t;
    const current = this.fields.current_password.control;
    const next = this.fields.new_password.control;
    clearErrors(this.fields, this.formError);
    this.result.textContent = '';
    try {
      await this.deps.request('POST', '/api/v1/agents/me/password', { current_password: current.value, new_password: next.value });
    } catch (err) {
      // wrong_password is about the current one; weak_password's message names new_password.
      showError(err, t, this.fields, this.formError, { wrong_password: 'current_password', weak_password: 'new_password' });
      return;
    }
    this.form.reset();
    if (!(await this.deps.stillSignedIn())) {
      this.deps.signOut(t.passwordChangedSignIn);
      return;
    }
    this.result.textContent = t.passwordChanged;
  }
}
