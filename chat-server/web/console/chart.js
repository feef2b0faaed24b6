// A small SVG bar chart, drawn here rather than by a chart library: the reports page needs
// grouped bars over days or agents, which is a few dozen lines, and the console ships no
// third-party code. The chart is one image for assistive technology (role="img" with a label);
// the numbers it draws are in the table beside it.

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** A round step for the value axis: 1, 2 or 5 times a power of ten, about `ticks` per axis. */
export function niceStep(max, ticks = 4) {
  if (max <= 0) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return Math.max(1, step);
}

/**
 * `{ label, categories: [string], series: [{ name, values: [number], cls }] }` -> <svg>.
 * Bars of one category sit side by side; category labels are thinned to fit.
 */
export function barChart({ label, categories, series, width = 720, height = 240 }) {
  const pad = { left: 44, right: 8, top: 12, bottom: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  for (let v = 0; v <= top; v += step) {
    root.append(
      svg('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
      svg('text', { class: 'tick', x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)),
    );
  }
  const n = Math.max(1, categories.length);
  const slot = plotW / n;
  // Bars no wider than 32 units, so one or two categories do not fill the plot.
  const barW = Math.min(32, Math.max(1, (slot * 0.8) / series.length));
  const group = barW * series.length;
  const every = Math.ceil(n / Math.max(1, Math.floor(plotW / 64)));
  categories.forEach((cat, i) => {
    const x0 = pad.left + i * slot + (slot - group) / 2;
    series.forEach((s, k) => {
      const v = s.values[i] || 0;
      root.append(svg('rect', { class: `bar ${s.cls}`, x: x0 + k * barW, y: y(v), width: barW, height: y(0) - y(v) }, svg('title', {}, `${cat} · ${s.name}: ${v}`)));
    });
    if (i % every === 0) {
      root.append(svg('text', { class: 'tick', x: x0 + group / 2, y: height - pad.bottom + 16, 'text-anchor': 'middle' }, cat));
    }
  });
  const legend = svg('g', { class: 'legend' });
  series.forEach((s, k) => {
    const x = pad.left + k * 160;
    legend.append(svg('rect', { class: `bar ${s.cls}`, x, y: height - 12, width: 10, height: 10 }), svg('text', { class: 'tick', x: x + 14, y: height - 3 }, s.name));
  });
  root.append(legend);
  return root;
}
