// The team panel: every agent with their presence, my own online/away switch, and for admins
// the form that creates agents.

import { h } from '../shared/dom.js';

const PRESENCE_KEY = 'atendo.console.presence';

export class Team {
  constructor(ctx) {
    this.ctx = ctx;
    this.onChange = () => {};
    this.agents = [];
    // Presence is only ever announced as it changes, so agents we have not heard about yet
    // are "unknown" rather than wrongly "offline"; the list endpoint may carry a snapshot.
    this.presence = new Map();
    this.list = document.getElementById('agent-list');
    this.mine = document.getElementById('my-presence');
    this.mine.value = sessionStorage.getItem(PRESENCE_KEY) || 'online';
    this.mine.addEventListener('change', () => {
      sessionStorage.setItem(PRESENCE_KEY, this.mine.value);
      this.resendPresence();
    });
    const form = document.getElementById('new-agent');
    if (ctx.session.role === 'admin') {
      form.hidden = false;
      form.addEventListener('submit', (e) => this.create(e));
    }
  }

  name(id) {
    const a = this.agents.find((x) => x.id === id);
    return a ? a.name : id;
  }

  async load() {
    try {
      const { agents } = await this.ctx.request('GET', '/api/v1/agents');
      this.agents = agents;
      for (const a of agents) if (a.presence && !this.presence.has(a.id)) this.presence.set(a.id, a.presence);
    } catch (e) {
      this.list.replaceChildren(h('li', { class: 'form-error', role: 'alert' }, e.message));
      return;
    }
    this.ctx.agents = this.agents;
    this.render();
    this.onChange();
  }

  /** Sends my chosen presence; the server marks me online on connect, so "away" must be re-sent. */
  resendPresence() {
    this.presence.set(this.ctx.me, this.mine.value);
    this.ctx.socket.send({ type: 'presence', state: this.mine.value });
    this.render();
  }

  setPresence(agentId, state) {
    if (agentId === this.ctx.me && state === 'online' && this.mine.value === 'away') {
      // My own connect announces "online" before my "away" frame lands; keep what I chose.
      return;
    }
    this.presence.set(agentId, state);
    if (!this.agents.some((a) => a.id === agentId)) {
      this.load();
      return;
    }
    this.render();
  }

  render() {
    const t = this.ctx.t;
    const rows = this.agents.map((a) => {
      const state = this.presence.get(a.id) || 'unknown';
      const label = t.presence[state] || state;
      return h(
        'li',
        { class: 'agent', 'data-agent-id': a.id },
        h('span', { class: `dot presence-${state}`, 'aria-hidden': 'true' }),
        h('span', { class: 'agent-name' }, a.name, a.id === this.ctx.me ? ` (${t.you})` : ''),
        h('span', { class: 'agent-presence' }, label),
        a.role === 'admin' ? h('span', { class: 'chip' }, t.roles.admin) : null,
      );
    });
    this.list.replaceChildren(...rows);
  }

  async create(e) {
    e.preventDefault();
    const form = e.currentTarget;
    const result = document.getElementById('new-agent-result');
    result.classList.remove('form-error');
    const body = {
      name: form.elements.namedItem('name').value.trim(),
      email: form.elements.namedItem('email').value.trim(),
      password: form.elements.namedItem('password').value,
      role: form.elements.namedItem('role').value,
    };
    try {
      const agent = await this.ctx.request('POST', '/api/v1/agents', body);
      result.textContent = this.ctx.t.agentCreated(agent.name);
      form.reset();
      await this.load();
    } catch (err) {
      result.classList.add('form-error');
      result.textContent = err.message;
    }
  }
}
