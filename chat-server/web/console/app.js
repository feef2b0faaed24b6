// The agent console: sign-in, then one websocket shared by the inbox, the open conversation
// and the team panel. The token lives in sessionStorage: it dies with the tab.

import { createApi, socketUrl, ChatSocket, ApiError } from '../shared/client.js';
import { contrastText } from '../shared/dom.js';
import { strings } from '../shared/i18n.js';
import { Inbox } from './inbox.js';
import { Thread } from './thread.js';
import { Team } from './team.js';

const SESSION_KEY = 'atendo.console';
const $ = (sel) => document.querySelector(sel);

let session = readSession();
const request = createApi(location.origin, () => session && session.token);
let t = strings('en');
let locale = 'en';
let running = null;

function readSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

function writeSession(s) {
  session = s;
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** Fills every [data-i18n="a.b"] element with the string at that path. */
function translate() {
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const value = el.dataset.i18n.split('.').reduce((o, k) => (o ? o[k] : undefined), t);
    if (typeof value === 'string') el.textContent = value;
  }
}

function applyBranding(b) {
  const root = document.documentElement;
  // CSSOM writes are not inline styles in the CSP sense, so style-src 'self' allows them.
  root.style.setProperty('--primary', b.primary_color);
  root.style.setProperty('--on-primary', contrastText(b.primary_color));
  root.lang = locale;
  document.title = b.product_name;
  for (const el of document.querySelectorAll('.brand-name')) el.textContent = b.product_name;
  if (b.logo_url) {
    for (const img of document.querySelectorAll('.brand-logo')) {
      img.src = b.logo_url;
      img.hidden = false;
    }
  }
}

function show(view) {
  $('#boot').hidden = true;
  $('#login-view').hidden = view !== 'login';
  $('#app-view').hidden = view !== 'app';
}

async function boot() {
  const branding = await request('GET', '/api/v1/branding').catch(() => ({
    product_name: 'Atendo',
    primary_color: '#0b5fff',
    locale: 'en',
  }));
  locale = branding.locale || 'en';
  t = strings(locale);
  translate();
  applyBranding(branding);
  $('#login-form').addEventListener('submit', signIn);
  $('#sign-out').addEventListener('click', () => signOut());
  if (session) {
    try {
      const me = await request('GET', '/api/v1/me');
      if (me.kind !== 'agent') throw new ApiError(401, 'not_agent', 'not an agent token');
      writeSession({ ...session, name: me.name, role: me.role });
      startApp();
      return;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) {
        showLogin(e.message);
        return;
      }
      writeSession(null);
    }
  }
  showLogin();
}

function showLogin(message) {
  show('login');
  $('#login-error').textContent = message || '';
  $('#login-email').focus();
}

async function signIn(e) {
  e.preventDefault();
  const form = e.currentTarget;
  const email = form.email.value.trim();
  const password = form.password.value;
  const error = $('#login-error');
  if (!email || !password) {
    error.textContent = `${t.email} / ${t.password}`;
    return;
  }
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  error.textContent = '';
  try {
    const r = await request('POST', '/api/v1/agents/login', { email, password });
    writeSession({ token: r.token, agent_id: r.agent_id, role: r.role, name: r.name || email });
    form.password.value = '';
    startApp();
  } catch (err) {
    error.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

function signOut(message) {
  if (running) running.socket.stop();
  running = null;
  writeSession(null);
  location.hash = '';
  // A fresh page drops every listener and DOM node of the old session.
  if (message) sessionStorage.setItem('atendo.console.notice', message);
  location.reload();
}

function startApp() {
  show('app');
  $('#me-name').textContent = session.name;
  const ctx = { request, session, t, locale, me: session.agent_id, origin: location.origin };
  const team = new Team(ctx);
  ctx.agentName = (id) => team.name(id);
  const socket = new ChatSocket({
    url: () => socketUrl(location.origin, session.token),
    onFrame: (f) => dispatch(f),
    onOpen: () => {
      team.resendPresence();
      thread.resubscribe();
      inbox.refresh();
    },
    onState: (s) => {
      const el = $('#conn');
      el.dataset.state = s;
      el.textContent = t.state[s] || s;
    },
    checkAuth: async () => {
      try {
        await request('GET', '/api/v1/me');
        return true;
      } catch (e) {
        return !(e instanceof ApiError && e.status === 401);
      }
    },
    onAuthLost: () => signOut(t.sessionExpired),
  });
  ctx.socket = socket;
  const thread = new Thread(ctx);
  const inbox = new Inbox(ctx, (c) => thread.open(c));
  team.onChange = () => {
    inbox.render();
    thread.renderAgents();
  };
  running = { socket };

  function dispatch(f) {
    switch (f.type) {
      case 'conversation':
        inbox.upsert(f.conversation);
        thread.conversationChanged(f.conversation);
        break;
      case 'presence':
        team.setPresence(f.agent_id, f.state);
        break;
      default:
        thread.onFrame(f);
    }
  }

  team.load();
  socket.start();
}

const notice = sessionStorage.getItem('atendo.console.notice');
sessionStorage.removeItem('atendo.console.notice');
boot().then(() => {
  if (notice && !session) $('#login-error').textContent = notice;
});
