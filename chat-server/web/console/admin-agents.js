// Admin area, agents: everyone who can sign in, and the form that creates an agent.
// (Disable, role and password changes of the v1.1 contract belong here, per row.)

import { h, replace } from '../shared/dom.js';

export class AgentsSection {
  /** `deps`: { request, t, me, onAgentsChanged() }. */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.list = h('tbody');
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.result = h('p', { id: 'new-agent-result', class: 'form-result', role: 'status' });
    const field = (name, label, attrs) => [
      h('label', { for: `new-agent-${name}` }, label),
      h('input', { id: `new-agent-${name}`, name, required: true, autocomplete: 'off', ...attrs }),
    ];
    this.form = h(
      'form',
      { id: 'new-agent', class: 'card new-agent', 'aria-labelledby': 'new-agent-title', on: { submit: (e) => this.create(e) } },
      h('h3', { id: 'new-agent-title' }, t.newAgent),
      field('name', t.name, {}),
      field('email', t.email, { type: 'email' }),
      field('password', t.password, { type: 'password', autocomplete: 'new-password' }),
      h('label', { for: 'new-agent-role' }, t.role),
      h(
        'select',
        { id: 'new-agent-role', name: 'role' },
        h('option', { value: 'agent' }, t.roles.agent),
        h('option', { value: 'admin' }, t.roles.admin),
      ),
      this.result,
      h('button', { type: 'submit', class: 'primary' }, t.create),
    );
    this.element = h(
      'section',
      { class: 'admin-section', 'aria-labelledby': 'admin-agents-title' },
      h('h2', { id: 'admin-agents-title' }, t.agents),
      h(
        'table',
        { class: 'agents-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t.name), h('th', { scope: 'col' }, t.email), h('th', { scope: 'col' }, t.role))),
        this.list,
      ),
      this.error,
      this.form,
    );
  }

  async load() {
    const t = this.deps.t;
    try {
      const { agents } = await this.deps.request('GET', '/api/v1/agents');
      this.error.textContent = '';
      replace(
        this.list,
        agents.map((a) =>
          h(
            'tr',
            { 'data-agent-id': a.id },
            h('td', {}, a.name, a.id === this.deps.me ? ` (${t.you})` : ''),
            h('td', {}, a.email || ''),
            h('td', {}, t.roles[a.role] || a.role),
          ),
        ),
      );
    } catch (e) {
      this.error.textContent = e.message;
    }
  }

  async create(e) {
    e.preventDefault();
    const form = this.form;
    this.result.classList.remove('form-error');
    const body = {
      name: form.elements.namedItem('name').value.trim(),
      email: form.elements.namedItem('email').value.trim(),
      password: form.elements.namedItem('password').value,
      role: form.elements.namedItem('role').value,
    };
    try {
      const agent = await this.deps.request('POST', '/api/v1/agents', body);
      this.result.textContent = this.deps.t.agentCreated(agent.name);
      form.reset();
      await this.load();
      this.deps.onAgentsChanged();
    } catch (err) {
      this.result.classList.add('form-error');
      this.result.textContent = err.message;
    }
  }
}
