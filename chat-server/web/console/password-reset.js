// A forgotten password, before anyone is signed in: `#/forgot` asks for a link by email, and the
// link the server mails (`#/reset?token=…`) sets a new password. Both are forms beside the
// sign-in form in the same card, so the page keeps its branding and no session is involved.
//
// The server answers a request the same way whether or not the email has an account (no account
// oracle), so the console says "if an account exists" rather than "sent". The token travels in
// the fragment, which browsers never send to a server (nor, with no-referrer, to anyone else),
// and leaves the address bar as soon as the form is shown.

import { h } from '../shared/dom.js';
import { field, showError, clearErrors, errorText } from './fields.js';

/** The token of a reset link's fragment (`#/reset?token=abc`), '' when it has none, else null. */
export function resetTokenOf(hash) {
  if (!/^#\/reset(\?|$)/.test(hash)) return null;
  const query = hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '';
  return new URLSearchParams(query).get('token') || '';
}

export class PasswordReset {
  /**
   * `deps`: { request, t, card (the sign-in form), offered (mail is configured), done(notice) }.
   * `done` returns to the sign-in form with `notice` shown on it.
   */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.token = '';
    this.forgotFields = {
      email: field('forgot-email', t.email, 'input', { type: 'email', autocomplete: 'username', required: true }),
    };
    this.forgotResult = h('p', { id: 'forgot-result', class: 'form-result', role: 'status' });
    this.forgotError = h('p', { class: 'form-error', role: 'alert' });
    this.forgot = h(
      'form',
      { id: 'forgot-form', class: 'card login-card', 'aria-labelledby': 'forgot-title', novalidate: true, hidden: true, on: { submit: (e) => this.ask(e) } },
      h('h1', { id: 'forgot-title' }, t.forgotTitle),
      h('p', { class: 'muted' }, t.forgotHelp),
      this.forgotFields.email.wrap,
      this.forgotError,
      this.forgotResult,
      h('button', { type: 'submit', class: 'primary' }, t.sendResetLink),
      h('a', { href: '#/', class: 'back-to-sign-in' }, t.backToSignIn),
    );
    this.resetFields = {
      new_password: field('reset-password', t.newPassword, 'input', { type: 'password', autocomplete: 'new-password', required: true }),
    };
    this.resetError = h('p', { class: 'form-error', role: 'alert' });
    this.again = h('a', { href: '#/forgot', hidden: true }, t.askAnotherLink);
    this.reset = h(
      'form',
      { id: 'reset-form', class: 'card login-card', 'aria-labelledby': 'reset-title', novalidate: true, hidden: true, on: { submit: (e) => this.confirm(e) } },
      h('h1', { id: 'reset-title' }, t.resetTitle),
      h('p', { class: 'muted' }, t.resetHelp),
      this.resetFields.new_password.wrap,
      this.resetError,
      this.again,
      h('button', { type: 'submit', class: 'primary' }, t.setPassword),
      h('a', { href: '#/', class: 'back-to-sign-in' }, t.backToSignIn),
    );
    deps.card.after(this.forgot, this.reset);
    if (deps.offered) {
      deps.card.querySelector('button[type=submit]').after(h('a', { id: 'forgot-link', href: '#/forgot' }, t.forgotPassword));
    }
  }

  /**
   * Shows the form the fragment asks for and says whether it did: `#/reset?token=…` always (the
   * link came by mail, so mail works), `#/forgot` only where mail is configured.
   */
  showFor(hash) {
    const token = resetTokenOf(hash);
    if (token !== null) {
      this.token = token;
      // Out of the address bar and the history: a shared screen or a later visitor must not find it.
      history.replaceState(null, '', '/#/reset');
      this.display('reset');
      return true;
    }
    if (hash === '#/reset' && this.token) {
      this.display('reset');
      return true;
    }
    if (hash === '#/forgot' && this.deps.offered) {
      this.display('forgot');
      return true;
    }
    this.display('sign-in');
    return false;
  }

  display(which) {
    this.deps.card.hidden = which !== 'sign-in';
    this.forgot.hidden = which !== 'forgot';
    this.reset.hidden = which !== 'reset';
    if (which === 'forgot') {
      clearErrors(this.forgotFields, this.forgotError);
      this.forgotResult.textContent = '';
      this.forgotFields.email.control.focus();
    }
    if (which === 'reset') {
      clearErrors(this.resetFields, this.resetError);
      this.again.hidden = !!this.token;
      if (!this.token) this.resetError.textContent = this.deps.t.errors.invalid_reset_token;
      this.resetFields.new_password.control.focus();
    }
  }

  async ask(e) {
    e.preventDefault();
    const t = this.deps.t;
    const email = this.forgotFields.email.control.value.trim();
    clearErrors(this.forgotFields, this.forgotError);
    this.forgotResult.textContent = '';
    if (!email) {
      this.forgotFields.email.error.textContent = t.emailRequired;
      this.forgotFields.email.control.focus();
      return;
    }
    const button = this.forgot.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await this.deps.request('POST', '/api/v1/agents/password-reset', { email });
      this.forgotResult.textContent = t.resetLinkSent(email);
    } catch (err) {
      // 429 (too many for this email or address) and 503 (mail off) say so in the server's words.
      this.forgotError.textContent = errorText(err, t);
    } finally {
      button.disabled = false;
    }
  }

  async confirm(e) {
    e.preventDefault();
    const t = this.deps.t;
    const password = this.resetFields.new_password.control;
    clearErrors(this.resetFields, this.resetError);
    this.again.hidden = true;
    const button = this.reset.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await this.deps.request('POST', '/api/v1/agents/password-reset/confirm', { token: this.token, new_password: password.value });
    } catch (err) {
      if (err.code === 'invalid_reset_token') {
        // Used, expired or cancelled: only a new link helps.
        this.token = '';
        this.again.hidden = false;
      }
      showError(err, t, this.resetFields, this.resetError, { weak_password: 'new_password' });
      return;
    } finally {
      button.disabled = false;
    }
    this.token = '';
    this.reset.reset();
    this.deps.done(t.passwordResetSignIn);
  }
}
