// Who a conversation is for: one picker offering the agents and the teams. Picking an agent sets
// the assignee and keeps the team (an agent of the team takes it); picking a team hands the
// conversation to that team's queue, so the assignee is cleared; "Unassigned" clears both. The
// picker shows the assignee when there is one, else the team.

import { h, replace } from '../shared/dom.js';

/** `deps`: { t, team } (team.agents, team.teams). The owner sets `onAssign(body)`, the POST …/assign body. */
export class AssignPicker {
  constructor(deps) {
    this.deps = deps;
    this.onAssign = () => {};
    this.element = h('select', { id: 'thread-assignee', on: { change: () => this.picked() } });
    this.key = '';
  }

  picked() {
    const [kind, id] = this.element.value.split(':');
    if (kind === 'agent') this.onAssign({ agent_id: id });
    else if (kind === 'team') this.onAssign({ team_id: id, agent_id: null });
    else this.onAssign({ agent_id: null, team_id: null });
  }

  /**
   * The options, from the team directory. Rebuilt only when the agents or teams themselves
   * change (not on presence), so an open picker is left alone by the frames that keep coming.
   */
  renderOptions() {
    const t = this.deps.t;
    const agents = this.deps.team.agents.filter((a) => !a.disabled).map((a) => [`agent:${a.id}`, a.name]);
    const teams = (this.deps.team.teams || []).map((x) => [`team:${x.id}`, x.name]);
    const key = JSON.stringify([t.unassigned, agents, teams]);
    if (key === this.key) return;
    this.key = key;
    const value = this.element.value;
    const options = (list) => list.map(([v, label]) => h('option', { value: v }, label));
    replace(
      this.element,
      h('option', { value: '' }, t.unassigned),
      h('optgroup', { label: t.assignAgents }, options(agents)),
      teams.length ? h('optgroup', { label: t.assignTeams }, options(teams)) : null,
    );
    this.element.value = value;
  }

  /** Shows where `c` is: its assignee, else its team, else "Unassigned". */
  show(c) {
    this.renderOptions();
    const value = c.assignee ? `agent:${c.assignee}` : c.team_id ? `team:${c.team_id}` : '';
    this.element.value = value;
    // A disabled agent, or one or a team this console has not loaded yet: shown all the same.
    if (this.element.value !== value) {
      const [kind, id] = value.split(':');
      const team = this.deps.team;
      this.element.append(h('option', { value }, kind === 'agent' ? team.name(id) : team.teamName(id)));
      this.element.value = value;
      this.key = '';
    }
  }
}
