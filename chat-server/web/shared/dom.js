// DOM building for the widget and the console. Text always goes in as text nodes and
// attributes through setAttribute: nothing here ever parses a string as HTML, so markup in a
// message can neither render nor run.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('button', {class: 'x', 'aria-label': 'Send', on: {click}}, 'text', childNode)
 * Attribute values of `false`/`null`/`undefined` are left out; `true` sets an empty attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An inline SVG icon from path data, hidden from assistive technology. */
export function icon(pathData, size = 20) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', pathData);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

export const ICONS = {
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z',
  close: 'M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z',
  send: 'M2 21 23 12 2 3v7l15 2-15 2z',
  lock: 'M12 1a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V11a2 2 0 0 0-2-2h-1V6a5 5 0 0 0-5-5zm-3 8V6a3 3 0 0 1 6 0v3z',
  bell: 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z',
  attach:
    'M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z',
};

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (name.startsWith('on')) {
      // Inline handlers would be code in a string; refuse them loudly.
      throw new Error(`h(): use {on: {...}} instead of the ${name} attribute`);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces all children of `el` with `children` (strings become text nodes). */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/**
 * A message body as nodes: plain text, with http(s) URLs turned into links. The URL is only
 * ever an attribute value and the link text is a text node.
 */
export function messageBody(body) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of body.matchAll(URL_RE)) {
    frag.append(document.createTextNode(body.slice(last, match.index)));
    frag.append(safeLink(match[0]) ?? document.createTextNode(match[0]));
    last = match.index + match[0].length;
  }
  frag.append(document.createTextNode(body.slice(last)));
  return frag;
}

function safeLink(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const a = h('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer nofollow' });
  a.textContent = text;
  return a;
}

/** "14:05" in the given locale, or the date too when it is not today. */
export function formatTime(iso, locale) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const sameDay = d.toDateString() === new Date().toDateString();
  const opts = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, opts).format(d);
}

/** A size in bytes as "12 KB". */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Black or white text, whichever reads better on `hex` (#rrggbb), by WCAG relative luminance. */
export function contrastText(hex) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || '');
  if (!m) return '#ffffff';
  const [r, g, b] = m.slice(1).map((x) => {
    const c = parseInt(x, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.179 ? '#111111' : '#ffffff';
}
