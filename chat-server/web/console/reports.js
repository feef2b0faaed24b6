// The reports page (#/reports), for every agent: a date range, the summary's figures, a chart of
// conversations per day and one per agent (chart.js), the same numbers in tables, and CSV
// downloads of both tables. Dates are UTC days, as the server counts them.

import { h } from '../shared/dom.js';
import { barChart } from './chart.js';

/** "2026-12-05" of a Date, in UTC. */
const day = (d) => d.toISOString().slice(0, 10);

/** Seconds as people read a wait: "45 s", "3 min 20 s", "2 h 5 min"; null as a dash. */
export function duration(seconds, none = '—') {
  if (seconds === null || seconds === undefined) return none;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** RFC 4180 CSV: every field quoted when it needs to be, CRLF line ends. */
export function csv(rows) {
  const field = (v) => {
    const text = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

/** The by_day rows as CSV (seconds as numbers, for spreadsheets). */
export function daysCsv(summary) {
  return csv([
    ['date', 'conversations', 'resolved', 'first_response_median_seconds', 'resolution_median_seconds', 'csat_average', 'csat_responses'],
    ...summary.by_day.map((d) => [d.date, d.conversations, d.resolved, d.first_response_median_seconds, d.resolution_median_seconds, d.csat.average, d.csat.responses]),
  ]);
}

/** The by_agent rows as CSV. */
export function agentsCsv(summary) {
  return csv([
    ['agent_id', 'name', 'conversations', 'resolved', 'first_response_median_seconds', 'resolution_median_seconds', 'csat_average', 'csat_responses'],
    ...summary.by_agent.map((a) => [a.agent_id, a.name, a.conversations, a.resolved, a.first_response_median_seconds, a.resolution_median_seconds, a.csat.average, a.csat.responses]),
  ]);
}

export class ReportsView {
  /** `deps`: { request, t, locale }. */
  constructor(deps) {
    this.deps = deps;
    const t = deps.t.reports;
    this.t = t;
    const today = new Date();
    this.from = h('input', { id: 'report-from', type: 'date', required: true, value: day(new Date(today.getTime() - 29 * 86_400_000)) });
    this.to = h('input', { id: 'report-to', type: 'date', required: true, value: day(today) });
    this.error = h('p', { class: 'form-error', role: 'alert' });
    this.form = h(
      'form',
      { class: 'report-range', 'aria-label': t.title, on: { submit: (e) => this.submit(e) } },
      h('label', { for: 'report-from' }, t.from),
      this.from,
      h('label', { for: 'report-to' }, t.to),
      this.to,
      h('button', { type: 'submit', class: 'primary' }, t.show),
    );
    this.tiles = h('dl', { class: 'report-tiles', 'aria-live': 'polite' });
    this.daysChart = h('figure', { class: 'report-chart' });
    this.agentsChart = h('figure', { class: 'report-chart' });
    this.daysTable = h('table', { class: 'report-table' });
    this.agentsTable = h('table', { class: 'report-table' });
    this.downloads = h(
      'p',
      { class: 'report-downloads' },
      h('button', { type: 'button', id: 'download-days', on: { click: () => this.download('by-day', daysCsv) } }, t.downloadDays),
      h('button', { type: 'button', id: 'download-agents', on: { click: () => this.download('by-agent', agentsCsv) } }, t.downloadAgents),
    );
    this.element = document.getElementById('reports-view');
    this.element.append(
      this.form,
      this.error,
      this.tiles,
      h('section', { 'aria-labelledby': 'report-days-title' }, h('h2', { id: 'report-days-title' }, t.byDay), this.daysChart, this.daysTable),
      h('section', { 'aria-labelledby': 'report-agents-title' }, h('h2', { id: 'report-agents-title' }, t.byAgent), this.agentsChart, this.agentsTable),
      this.downloads,
    );
  }

  show() {
    this.load();
  }

  submit(e) {
    e.preventDefault();
    this.load();
  }

  async load() {
    this.error.textContent = '';
    const q = new URLSearchParams({ from: this.from.value, to: this.to.value });
    try {
      this.summary = await this.deps.request('GET', `/api/v1/reports/summary?${q}`);
    } catch (err) {
      this.error.textContent = err.message;
      return;
    }
    this.render(this.summary);
  }

  render(s) {
    const t = this.t;
    const number = (n) => (n === null || n === undefined ? t.none : n.toLocaleString(this.deps.locale));
    // A <div> per name/value pair keeps each tile one grid cell (allowed inside <dl>).
    const tile = (name, value, detail) =>
      h('div', { class: 'tile' }, h('dt', {}, name), h('dd', {}, h('span', { class: 'value' }, value), detail ? h('span', { class: 'detail' }, detail) : null));
    this.tiles.replaceChildren(
      tile(t.conversations, number(s.conversations)),
      tile(t.resolved, number(s.resolved)),
      tile(t.firstResponse, duration(s.first_response_seconds.median, t.none), `${t.p90}: ${duration(s.first_response_seconds.p90, t.none)}`),
      tile(t.resolution, duration(s.resolution_seconds.median, t.none), `${t.p90}: ${duration(s.resolution_seconds.p90, t.none)}`),
      tile(t.csat, number(s.csat.average), t.responses(s.csat.responses)),
    );
    const dates = s.by_day.map((d) => d.date.slice(5));
    this.daysChart.replaceChildren(
      barChart({
        label: t.chartDays,
        categories: dates,
        series: [
          { name: t.conversations, values: s.by_day.map((d) => d.conversations), cls: 'total' },
          { name: t.resolved, values: s.by_day.map((d) => d.resolved), cls: 'resolved' },
        ],
      }),
    );
    const agentName = (a) => a.name || (a.agent_id ? a.agent_id : t.unassigned);
    this.agentsChart.replaceChildren(
      barChart({
        label: `${t.byAgent}: ${t.conversations}, ${t.resolved}`,
        categories: s.by_agent.map(agentName),
        series: [
          { name: t.conversations, values: s.by_agent.map((a) => a.conversations), cls: 'total' },
          { name: t.resolved, values: s.by_agent.map((a) => a.resolved), cls: 'resolved' },
        ],
        height: 200,
      }),
    );
    const head = (first) => h('thead', {}, h('tr', {}, ...[first, t.conversations, t.resolved, `${t.firstResponse} (${t.median})`, `${t.resolution} (${t.median})`, t.csatAverage].map((c) => h('th', { scope: 'col' }, c))));
    const row = (name, r) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, name),
        h('td', {}, number(r.conversations)),
        h('td', {}, number(r.resolved)),
        h('td', {}, duration(r.first_response_median_seconds, t.none)),
        h('td', {}, duration(r.resolution_median_seconds, t.none)),
        h('td', {}, r.csat.average === null ? t.none : `${number(r.csat.average)} (${r.csat.responses})`),
      );
    this.daysTable.replaceChildren(h('caption', {}, t.byDay), head(t.date), h('tbody', {}, ...s.by_day.map((d) => row(d.date, d))));
    this.agentsTable.replaceChildren(h('caption', {}, t.byAgent), head(t.agent), h('tbody', {}, ...s.by_agent.map((a) => row(agentName(a), a))));
  }

  download(name, toCsv) {
    if (!this.summary) return;
    const blob = new Blob([toCsv(this.summary)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `atendo-report-${name}-${this.from.value}-${this.to.value}.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
