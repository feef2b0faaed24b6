// The admin area (#/admin), apart from the conversations: one section per concern, each its own
// module with the same shape, `{ element, load() }`. API tokens join as a further entry of
// SECTIONS.

import { AgentsSection } from './admin-agents.js';
import { TeamsSection } from './admin-teams.js';
import { CannedSection } from './admin-canned.js';
import { DataSection } from './admin-data.js';
import { WebhooksSection } from './admin-webhooks.js';

const SECTIONS = [AgentsSection, TeamsSection, CannedSection, WebhooksSection, DataSection];
/** The sections that show the directory of agents and teams. */
const DIRECTORY = [AgentsSection, TeamsSection];

/** `deps`: what the sections need ({ request, t, locale, me, origin, token(), onAgentsChanged }). */
export class AdminArea {
  constructor(deps) {
    this.view = document.getElementById('admin-view');
    // A change to agents or teams shows in the other sections too (the agents' teams column,
    // the teams' member names); the section that made it reloads itself, keeping the focus.
    this.sections = SECTIONS.map(
      (Section) =>
        new Section({
          ...deps,
          onAgentsChanged: () => {
            deps.onAgentsChanged();
            for (const s of this.sections) {
              if (s.constructor !== Section && DIRECTORY.includes(s.constructor)) s.load();
            }
          },
        }),
    );
    document.getElementById('admin-sections').append(...this.sections.map((s) => s.element));
  }

  /** Shown: each section fetches afresh, so the area never shows what another admin changed. */
  show() {
    for (const s of this.sections) s.load();
  }
}
