// The widget's "nobody is here" parts (chat-api-v1, "When no one is there"): the closed notice
// with the next opening, the offline form's name and email (the message is the composer's), and
// "email me the transcript". Only shows things; main.js decides what happens.

import { h } from '../shared/dom.js';

/** "Mon, 07 Dec, 09:00" in the visitor's locale and time zone. */
export function formatOpening(iso, locale) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const opts = { weekday: 'short', day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, opts).format(d);
}

export class OfflineView {
  constructor(t, locale, handlers) {
    this.t = t;
    this.locale = locale;
    this.opening = h('p', { class: 'opening' });
    this.name = h('input', { id: 'atendo-name', type: 'text', autocomplete: 'name', maxlength: '100' });
    this.email = h('input', { id: 'atendo-email', type: 'email', autocomplete: 'email', maxlength: '254' });
    this.fields = h(
      'div',
      { class: 'fields' },
      h('label', { for: 'atendo-name' }, t.yourName),
      this.name,
      h('label', { for: 'atendo-email' }, t.yourEmail),
      this.email,
    );
    this.thanks = h('p', { class: 'thanks', hidden: true }, t.offlineSent);
    this.box = h(
      'section',
      { class: 'offline', hidden: true, 'aria-labelledby': 'atendo-closed' },
      // Not a heading: the dialog's one heading is the brand's name.
      h('p', { id: 'atendo-closed', class: 'closed-title' }, t.closedTitle),
      h('p', {}, t.closedHint),
      this.opening,
      this.fields,
      this.thanks,
    );

    this.transcriptEmail = h('input', { id: 'atendo-transcript-email', type: 'email', autocomplete: 'email', required: true });
    this.transcriptResult = h('p', { class: 'transcript-result', role: 'status' });
    this.transcript = h(
      'details',
      { class: 'transcript', hidden: true },
      h('summary', {}, t.emailTranscript),
      h(
        'form',
        {
          on: {
            submit: (e) => {
              e.preventDefault();
              if (!this.transcriptEmail.checkValidity()) {
                this.transcriptResult.textContent = t.invalidEmail;
                return;
              }
              handlers.emailTranscript(this.transcriptEmail.value.trim());
            },
          },
        },
        h('label', { for: 'atendo-transcript-email' }, t.yourEmail),
        this.transcriptEmail,
        h('button', { type: 'submit', class: 'secondary' }, t.transcriptAsk),
      ),
      this.transcriptResult,
    );
  }

  /** Closed (`open` false) with the next opening, if any; the fields only before a conversation. */
  show(open, nextOpenAt, beforeConversation) {
    this.box.hidden = open;
    this.opening.textContent = nextOpenAt ? this.t.opensAt(formatOpening(nextOpenAt, this.locale)) : '';
    this.opening.hidden = !nextOpenAt;
    this.fields.hidden = !beforeConversation;
  }

  get visible() {
    return !this.box.hidden && !this.fields.hidden;
  }

  /** What the form holds: `{name?, email?}`, or `null` when the email is not an address. */
  details() {
    const name = this.name.value.trim();
    const email = this.email.value.trim();
    if (email && !this.email.checkValidity()) return null;
    return { ...(name ? { name } : {}), ...(email ? { email } : {}) };
  }

  /** The offline message is in: the fields give way to a thank-you. */
  sent(email) {
    this.fields.hidden = true;
    this.thanks.hidden = false;
    if (email && !this.transcriptEmail.value) this.transcriptEmail.value = email;
  }

  /** The transcript option, once there is a conversation to send. */
  offerTranscript(email) {
    this.transcript.hidden = false;
    if (email && !this.transcriptEmail.value) this.transcriptEmail.value = email;
  }

  transcriptAnswer(text) {
    this.transcriptResult.textContent = text;
  }

  reset() {
    this.thanks.hidden = true;
    this.transcript.hidden = true;
    this.transcriptResult.textContent = '';
  }
}
