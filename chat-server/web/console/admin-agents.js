// Admin area, agents: everyone who can sign in, with per-row controls (role, disable/enable,
// delete after an inline confirmation: a dialog would be easy to click through), and the form
// that creates an agent. A refusal (409 last_admin above all) is shown on the agent's row, in
// words that say what to do. Changing one's own password is everyone's (account.js).

import { h, replace } from '../shared/dom.js';
import { allAgents, allPages } from '../shared/client.js';
import { errorText } from './fields.js';

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
        { class: 'admin-table agents-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            [t.name, t.email, t.role, t.teams, t.accountState, t.actions].map((label) => h('th', { scope: 'col' }, label)),
          ),
        ),
        this.list,
      ),
      this.error,
      this.form,
    );
  }

  async load() {
    const t = this.deps.t;
    try {
      const [agents, teams] = await Promise.all([allAgents(this.deps.request), allPages(this.deps.request, '/api/v1/teams', 'teams')]);
      this.teamNames = new Map(teams.map((team) => [team.id, team.name]));
      this.error.textContent = '';
      replace(this.list, agents.flatMap((a) => this.row(a)));
    } catch (e) {
      this.error.textContent = e.message;
    }
  }

  /** An agent's row, and under it the line for what the server refused about them. */
  row(a) {
    const t = this.deps.t;
    const error = h('td', { colspan: '6', class: 'form-error', role: 'alert' });
    const errorRow = h('tr', { class: 'row-error', 'data-error-for': a.id }, error);
    const name = a.name + (a.id === this.deps.me ? ` (${t.you})` : '');
    const role = h(
      'select',
      { 'aria-label': `${t.role}: ${a.name}`, 'data-action': 'role', on: { change: () => this.change(a, { role: role.value }, error, () => (role.value = a.role)) } },
      ['agent', 'admin'].map((r) => h('option', { value: r, selected: r === a.role }, t.roles[r])),
    );
    const actions = h('td', { class: 'row-actions' });
    const idle = () =>
      replace(
        actions,
        h('button', { type: 'button', class: 'danger', 'aria-label': `${t.delete} ${a.name}`, on: { click: () => confirming() } }, t.delete),
      );
    const confirming = () => {
      const yes = h('button', { type: 'button', class: 'danger', on: { click: () => this.remove(a, error) } }, t.delete);
      replace(
        actions,
        h('span', { class: 'confirm-text' }, t.confirmDelete(a.name)),
        yes,
        h('button', { type: 'button', on: { click: () => (idle(), actions.querySelector('button').focus()) } }, t.cancel),
      );
      yes.focus();
    };
    idle();
    return [
      h(
        'tr',
        { 'data-agent-id': a.id, class: a.disabled ? 'is-disabled' : '' },
        h('td', { 'data-label': t.name }, name),
        h('td', { 'data-label': t.email }, a.email || ''),
        h('td', { 'data-label': t.role }, role),
        h('td', { 'data-label': t.teams, class: 'agent-teams' }, (a.teams || []).map((id) => this.teamNames.get(id) || id).join(', ')),
        h(
          'td',
          { 'data-label': t.accountState },
          h('span', { class: `chip ${a.disabled ? 'state-disabled' : 'state-active'}` }, a.disabled ? t.disabled : t.active),
          ' ',
          h(
            'button',
            { type: 'button', 'aria-label': `${a.disabled ? t.enable : t.disable} ${a.name}`, 'data-action': 'toggle', on: { click: () => this.change(a, { disabled: !a.disabled }, error) } },
            a.disabled ? t.enable : t.disable,
          ),
        ),
        actions,
      ),
      errorRow,
    ];
  }

  /** PATCHes `a`; on a refusal the row says why and `undo` puts the control back. */
  async change(a, body, error, undo = () => {}) {
    error.textContent = '';
    // The rows are rebuilt: the keyboard goes back to the same control of the same agent.
    const action = document.activeElement && document.activeElement.dataset.action;
    try {
      await this.deps.request('PATCH', `/api/v1/agents/${encodeURIComponent(a.id)}`, body);
      await this.load();
      const again = action && this.list.querySelector(`tr[data-agent-id="${CSS.escape(a.id)}"] [data-action="${action}"]`);
      if (again) again.focus();
      this.deps.onAgentsChanged();
    } catch (e) {
      undo();
      error.textContent = errorText(e, this.deps.t);
    }
  }

  async remove(a, error) {
    error.textContent = '';
    try {
      await this.deps.request('DELETE', `/api/v1/agents/${encodeURIComponent(a.id)}`);
      await this.load();
      this.deps.onAgentsChanged();
    } catch (e) {
      error.textContent = errorText(e, this.deps.t);
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
