// Admin area, teams: the list with each team's members, and one form that creates a team (name
// and members) or, after "Edit" on a row, renames it and changes its members. Every change
// refreshes the console's directory, which the assign picker offers.

import { h, replace } from '../shared/dom.js';
import { allAgents, allPages } from '../shared/client.js';
import { field, showError, clearErrors, errorText } from './fields.js';

export class TeamsSection {
  /** `deps`: { request, t, onAgentsChanged() } (the directory of agents and teams changed). */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t;
    this.editing = null;
    this.agents = [];
    this.list = h('tbody');
    this.empty = h('p', { class: 'muted' }, t.noTeams);
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.fields = { name: field('team-name', t.name, 'input', { autocomplete: 'off', required: true }) };
    this.members = h('div', { class: 'member-list' });
    this.membersError = h('span', { class: 'form-error', role: 'alert' });
    // agent_ids errors (unknown_agent) belong to the member list.
    this.fields.agent_ids = { control: this.members, error: this.membersError };
    this.formTitle = h('h3', { id: 'team-form-title' }, t.newTeam);
    this.result = h('p', { class: 'form-result', role: 'status' });
    this.formError = h('p', { class: 'form-error', role: 'alert' });
    this.cancel = h('button', { type: 'button', hidden: true, on: { click: () => this.edit(null) } }, t.cancel);
    this.form = h(
      'form',
      { id: 'team-form', class: 'card admin-form', 'aria-labelledby': 'team-form-title', novalidate: true, on: { submit: (e) => this.save(e) } },
      this.formTitle,
      this.fields.name.wrap,
      h('fieldset', { class: 'members' }, h('legend', {}, t.members), this.members, this.membersError),
      this.formError,
      this.result,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t.save), this.cancel),
    );
    this.element = h(
      'section',
      { class: 'admin-section', 'aria-labelledby': 'admin-teams-title' },
      h('h2', { id: 'admin-teams-title' }, t.teams),
      h(
        'table',
        { class: 'admin-table teams-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t.name), h('th', { scope: 'col' }, t.members), h('th', { scope: 'col' }, t.actions))),
        this.list,
      ),
      this.empty,
      this.error,
      this.form,
    );
  }

  agentName(id) {
    const a = this.agents.find((x) => x.id === id);
    return a ? a.name : id;
  }

  async load() {
    const t = this.deps.t;
    try {
      const [agents, teams] = await Promise.all([allAgents(this.deps.request), allPages(this.deps.request, '/api/v1/teams', 'teams')]);
      this.agents = agents;
      this.error.textContent = '';
      this.empty.hidden = teams.length > 0;
      replace(
        this.list,
        teams.map((team) =>
          h(
            'tr',
            { 'data-team-id': team.id },
            h('td', {}, team.name),
            h('td', { class: 'team-members' }, team.agent_ids.length ? team.agent_ids.map((id) => this.agentName(id)).join(', ') : t.noMembers),
            h(
              'td',
              { class: 'row-actions' },
              h('button', { type: 'button', 'aria-label': `${t.edit} ${team.name}`, on: { click: () => this.edit(team) } }, t.edit),
              h('button', { type: 'button', class: 'danger', 'aria-label': `${t.delete} ${team.name}`, on: { click: () => this.remove(team) } }, t.delete),
            ),
          ),
        ),
      );
      this.renderMembers(this.editing ? this.editing.agent_ids : this.checked());
    } catch (e) {
      this.error.textContent = e.message;
    }
  }

  checked() {
    return [...this.members.querySelectorAll('input:checked')].map((i) => i.value);
  }

  renderMembers(selected) {
    replace(
      this.members,
      this.agents.map((a) =>
        h('label', { class: 'member' }, h('input', { type: 'checkbox', name: 'agent_ids', value: a.id, checked: selected.includes(a.id) }), ` ${a.name}`),
      ),
    );
  }

  edit(team) {
    const t = this.deps.t;
    this.editing = team;
    this.formTitle.textContent = team ? `${t.edit}: ${team.name}` : t.newTeam;
    this.cancel.hidden = !team;
    this.fields.name.control.value = team ? team.name : '';
    this.renderMembers(team ? team.agent_ids : []);
    this.result.textContent = '';
    clearErrors(this.fields, this.formError);
    this.fields.name.control.focus();
  }

  async save(e) {
    e.preventDefault();
    const t = this.deps.t;
    const body = { name: this.fields.name.control.value.trim(), agent_ids: this.checked() };
    const team = this.editing;
    clearErrors(this.fields, this.formError);
    this.result.textContent = '';
    try {
      const saved = team
        ? await this.deps.request('PATCH', `/api/v1/teams/${encodeURIComponent(team.id)}`, body)
        : await this.deps.request('POST', '/api/v1/teams', body);
      this.edit(null);
      this.result.textContent = team ? t.saved : t.teamCreated(saved.name);
      await this.load();
      this.deps.onAgentsChanged();
    } catch (err) {
      showError(err, t, this.fields, this.formError, { duplicate_team: 'name', invalid_name: 'name', unknown_agent: 'agent_ids' });
    }
  }

  async remove(team) {
    try {
      await this.deps.request('DELETE', `/api/v1/teams/${encodeURIComponent(team.id)}`);
      if (this.editing && this.editing.id === team.id) this.edit(null);
      await this.load();
      this.deps.onAgentsChanged();
    } catch (e) {
      this.error.textContent = errorText(e, this.deps.t);
    }
  }
}
