// The team panel beside the conversations: every agent with their presence, and my own
// online/away switch; also the directory of agents and teams the other parts name and offer.
// Creating agents and teams is the admin area's (admin-agents.js, admin-teams.js).

import { h, replace } from '../shared/dom.js';
import { allAgents, allPages } from '../shared/client.js';

const PRESENCE_KEY = 'atendo.console.presence';

/** `deps`: { request, socket, t, me }. */
export class Team {
  constructor(deps) {
    this.deps = deps;
    this.onChange = () => {};
    this.agents = [];
    this.teams = [];
    // Presence is only ever announced as it changes, so agents we have not heard about yet
    // are "unknown" rather than wrongly "offline"; the list endpoint may carry a snapshot.
    this.presence = new Map();
    this.rows = new Map(); // agent id -> <li>
    this.list = document.getElementById('agent-list');
    this.mine = document.getElementById('my-presence');
    this.mine.value = sessionStorage.getItem(PRESENCE_KEY) || 'online';
    this.mine.addEventListener('change', () => {
      sessionStorage.setItem(PRESENCE_KEY, this.mine.value);
      this.resendPresence();
    });
  }

  name(id) {
    const a = this.agents.find((x) => x.id === id);
    return a ? a.name : id;
  }

  teamName(id) {
    const x = this.teams.find((team) => team.id === id);
    return x ? x.name : id;
  }

  /** Every agent and every team, page by page (`next` until null). */
  async load() {
    try {
      const [agents, teams] = await Promise.all([allAgents(this.deps.request), allPages(this.deps.request, '/api/v1/teams', 'teams')]);
      this.agents = agents;
      this.teams = teams;
      for (const a of agents) if (a.presence && !this.presence.has(a.id)) this.presence.set(a.id, a.presence);
    } catch (e) {
      this.rows.clear();
      this.list.replaceChildren(h('li', { class: 'form-error', role: 'alert' }, e.message));
      return;
    }
    this.render();
    this.onChange();
  }

  /** Sends my chosen presence; the server marks me online on connect, so "away" must be re-sent. */
  resendPresence() {
    this.presence.set(this.deps.me, this.mine.value);
    this.deps.socket.send({ type: 'presence', state: this.mine.value });
    this.render();
  }

  setPresence(agentId, state) {
    if (agentId === this.deps.me && state === 'online' && this.mine.value === 'away') {
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

  /** One row per agent, kept and updated in place. */
  render() {
    const t = this.deps.t;
    const ids = new Set(this.agents.map((a) => a.id));
    for (const [id, li] of this.rows) {
      if (!ids.has(id)) {
        li.remove();
        this.rows.delete(id);
      }
    }
    for (const node of [...this.list.children]) if (!node.dataset.agentId) node.remove();
    this.agents.forEach((a, i) => {
      let li = this.rows.get(a.id);
      if (!li) {
        li = h('li', { class: 'agent', 'data-agent-id': a.id });
        this.rows.set(a.id, li);
      }
      const state = this.presence.get(a.id) || 'unknown';
      const key = JSON.stringify([a.name, a.role, state]);
      if (li.dataset.key !== key) {
        li.dataset.key = key;
        replace(
          li,
          h('span', { class: `dot presence-${state}`, 'aria-hidden': 'true' }),
          h('span', { class: 'agent-name' }, a.name, a.id === this.deps.me ? ` (${t.you})` : ''),
          h('span', { class: 'agent-presence' }, t.presence[state] || state),
          a.role === 'admin' ? h('span', { class: 'chip' }, t.roles.admin) : null,
        );
      }
      if (this.list.children[i] !== li) this.list.insertBefore(li, this.list.children[i] || null);
    });
  }
}
