// The satisfaction prompt: once the conversation is resolved, the widget asks for a score from
// 1 to 5 and an optional comment, and posts them once (`POST …/rating`). It only shows and
// submits; main.js decides when (a `status` frame saying resolved, or a resolved conversation
// found at start) and keeps the prompt away once the conversation is rated.

import { h } from '../shared/dom.js';

/** The server's limit, in characters (chat/ratings.rs). */
export const MAX_COMMENT_CHARS = 1000;

export class RatingPrompt {
  /** `submit(score, comment)` -> Promise; a rejection with `code` `already_rated` counts as done. */
  constructor(t, submit) {
    this.t = t.rating;
    this.submit = submit;
    this.score = 0;
    this.stars = [1, 2, 3, 4, 5].map((n) =>
      h(
        'button',
        {
          type: 'button',
          class: 'star',
          'aria-pressed': 'false',
          'aria-label': this.t.star(n),
          title: this.t.star(n),
          on: { click: () => this.pick(n) },
        },
        '★',
      ),
    );
    this.comment = h('textarea', {
      class: 'rating-comment',
      rows: '2',
      maxlength: String(MAX_COMMENT_CHARS),
      placeholder: this.t.comment,
      'aria-label': this.t.comment,
    });
    this.send = h('button', { type: 'submit', class: 'rating-send', disabled: true }, this.t.submit);
    this.result = h('p', { class: 'rating-result', role: 'status' });
    this.form = h(
      'form',
      { on: { submit: (e) => this.onSubmit(e) } },
      h('div', { class: 'stars', role: 'group', 'aria-labelledby': 'atendo-rating-title' }, ...this.stars),
      this.comment,
      this.send,
    );
    this.element = h(
      'section',
      { class: 'rating', 'aria-labelledby': 'atendo-rating-title' },
      h('p', { id: 'atendo-rating-title', class: 'rating-title' }, this.t.ask),
      this.form,
      this.result,
    );
  }

  pick(n) {
    this.score = n;
    this.stars.forEach((b, i) => {
      b.setAttribute('aria-pressed', String(i + 1 === n));
      b.classList.toggle('on', i < n);
    });
    this.send.disabled = false;
  }

  async onSubmit(e) {
    e.preventDefault();
    if (!this.score) return;
    this.send.disabled = true;
    try {
      await this.submit(this.score, this.comment.value.trim() || undefined);
      this.done(this.t.thanks);
    } catch (err) {
      if (err && err.code === 'already_rated') this.done(this.t.already);
      else {
        this.result.textContent = err.message;
        this.send.disabled = false;
      }
    }
  }

  /** The thanks (or that it was rated before) replaces the form. */
  done(text) {
    this.form.remove();
    this.result.textContent = text;
  }
}
