// The agent console: sign-in, then one websocket shared by the inbox, the open conversation
// and the team panel. The token lives in sessionStorage: it dies with the tab.

import { createApi, ApiError } from '../shared/client.js';
import { ChatSocket, socketTarget } from '../shared/socket.js';
import { maxMessageBytes } from '../shared/limits.js';
import { contrastText } from '../shared/dom.js';
import { strings } from '../shared/i18n.js';
import { Inbox } from './inbox.js';
import { Thread } from './thread.js';
import { Team } from './team.js';
import { AdminArea } from './admin.js';
import { Notifier } from './notify.js';
import { SingleSignOn, PENDING_KEY, parseCallback, decodeJwtPayload, isExpired, renewAt, ssoMessage } from './sso.js';
import { Search } from './search.js';
import { AccountView } from './account.js';
import { ReportsView } from './reports.js';
import { PasswordReset, resetTokenOf } from './password-reset.js';

const SESSION_KEY = 'atendo.console';
/** Why the last session ended, shown on the sign-in form after the reload that ends it. */
const NOTICE_KEY = 'atendo.console.notice';
const $ = (sel) => document.querySelector(sel);

let session = readSession();
const request = createApi(location.origin, () => session && session.token);
let t = strings('en');
let locale = 'en';
let branding = null;
let running = null;
/** Single sign-on, when the server offers it (GET /api/v1/auth/config). */
let sso = null;
/** The forgot-password and reset forms beside the sign-in form. */
let passwordReset = null;

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
  for (const el of document.querySelectorAll('[data-i18n-label]')) {
    const value = t[el.dataset.i18nLabel];
    if (typeof value === 'string') el.setAttribute('aria-label', value);
  }
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    const value = t[el.dataset.i18nPlaceholder];
    if (typeof value === 'string') el.setAttribute('placeholder', value);
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
  branding = await request('GET', '/api/v1/branding').catch(() => ({
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
  const auth = await request('GET', '/api/v1/auth/config').catch(() => null);
  passwordReset = new PasswordReset({
    request,
    t,
    card: $('#login-form'),
    offered: !!(auth && auth.password_reset),
    done: (notice) => {
      location.hash = '#/';
      showLogin(notice);
    },
  });
  // Before anyone signs in, the fragment picks the form; once signed in, route() owns it.
  window.addEventListener('hashchange', () => {
    if (!running) passwordReset.showFor(location.hash);
  });
  // A reset link opens in a fresh tab: it wins over any session this tab may hold.
  if (resetTokenOf(location.hash) !== null) {
    show('login');
    passwordReset.showFor(location.hash);
    return;
  }
  if (auth && auth.oidc) {
    sso = new SingleSignOn({ config: auth.oidc, origin: location.origin });
    sso.offer($('#login-form'), { label: t.ssoSignIn(sso.name), or: t.ssoOr }, (e) => showLogin(ssoMessage(e, t, sso.name)));
    const callback = parseCallback(location.search);
    if (callback) return finishSso(callback);
    // An ID token that expired while the tab was closed or asleep: renew it, quietly if possible.
    if (session && session.sso && isExpired(session.token)) {
      return sso.begin({ silent: true, place: { hash: location.hash } }).catch((e) => showLogin(ssoMessage(e, t, sso.name)));
    }
  }
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
  if (passwordReset && passwordReset.showFor(location.hash)) return;
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

/** The issuer sent the browser back: finish the sign-in there, or say why not. */
async function finishSso(callback) {
  let done;
  try {
    done = await sso.finish(callback);
  } catch (e) {
    history.replaceState(null, '', '/');
    writeSession(null);
    showLogin(ssoMessage(e, t, sso.name));
    return;
  }
  if (done.redirected) return; // a silent renewal needs the person: on to the issuer's login page
  // The code and state leave the address bar; the agent's route comes back.
  history.replaceState(null, '', `/${(done.place && done.place.hash) || ''}`);
  writeSession({ token: done.token, agent_id: done.me.id, role: done.me.role, name: done.me.name, sso: true });
  startApp(done.place);
}

function signOut(message) {
  if (running) running.socket.stop();
  running = null;
  writeSession(null);
  sessionStorage.removeItem(PENDING_KEY);
  location.hash = '';
  // A fresh page drops every listener and DOM node of the old session.
  if (message) sessionStorage.setItem(NOTICE_KEY, message);
  location.reload();
}

async function tokenStillValid() {
  try {
    await request('GET', '/api/v1/me');
    return true;
  } catch (e) {
    return !(e instanceof ApiError && e.status === 401);
  }
}

/**
 * The signed-in console. Order matters only here, and explicitly: the socket is built inert,
 * every part gets what it uses as an argument, and the socket's handlers are bound and the
 * socket started once all parts exist.
 */
function startApp(place) {
  show('app');
  $('#me-name').textContent = session.name;
  const me = session.agent_id;
  const socket = new ChatSocket({
    target: () => socketTarget(location.origin, session.token),
    onState: (s) => {
      const el = $('#conn');
      el.dataset.state = s;
      el.textContent = t.state[s] || s;
    },
    checkAuth: tokenStillValid,
    // 4001: revoked (disabled, deleted, password or role changed, logged out elsewhere).
    onSignedOut: (reason) => signOut(reason === 'revoked' ? t.signedOutElsewhere : t.sessionExpired),
  });
  const team = new Team({ request, socket, t, me });
  const thread = new Thread({
    request,
    socket,
    t,
    locale,
    me,
    team,
    origin: location.origin,
    token: () => session.token,
    maxBytes: maxMessageBytes(branding),
  });
  // The conversation before the agent's eyes: its messages are read as they come.
  const reading = (id) => !!thread.conversation && thread.conversation.id === id && document.visibilityState === 'visible';
  const inbox = new Inbox({ request, t, locale, me, team, reading });
  const notifier = new Notifier({ t });
  const search = new Search({ request, t, locale });

  // How the parts reach each other, bound now that all of them exist.
  // On a phone the desk shows one pane at a time (console.css): the inbox, or the conversation.
  const showPane = (pane) => {
    $('#desk').dataset.pane = pane;
    if (pane === 'inbox') inbox.focusSelected();
  };
  const openConversation = (c) => {
    showPane('thread');
    thread.open(c);
  };
  thread.onBack = () => showPane('inbox');
  inbox.onSelect = openConversation;
  // Unread messages in the tab's title too, for an agent working in another tab.
  inbox.onUnread = (n) => (document.title = n ? t.unreadTitle(n, branding.product_name) : branding.product_name);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && thread.conversation) inbox.clearUnread(thread.conversation.id);
  });
  const openFromElsewhere = (c) => {
    location.hash = '#/';
    inbox.select(c.id);
    openConversation(c);
  };
  notifier.onOpen = openFromElsewhere;
  search.onPick = openFromElsewhere;
  team.onChange = () => {
    inbox.render();
    thread.renderAgents();
  };
  socket.listen({
    onOpen: () => {
      team.resendPresence();
      thread.resubscribe();
      inbox.refresh();
    },
    onFrame: (f) => {
      switch (f.type) {
        case 'conversation':
          notifier.conversation(f.conversation);
          inbox.upsert(f.conversation);
          thread.conversationChanged(f.conversation);
          break;
        case 'presence':
          team.setPresence(f.agent_id, f.state);
          break;
        default:
          thread.onFrame(f);
      }
    },
  });
  running = { socket };
  const admin = session.role === 'admin' ? new AdminArea({ request, t, locale, me, origin: location.origin, token: () => session.token, onAgentsChanged: () => team.load() }) : null;
  $('#nav-admin').hidden = !admin;
  const account = new AccountView({
    request,
    t,
    // A single sign-on session has no password here: the issuer keeps it.
    managedBy: session.sso && sso ? sso.name : null,
    stillSignedIn: tokenStillValid,
    signOut: (message) => signOut(message),
  });
  const reports = new ReportsView({ request, t, locale });
  window.addEventListener('hashchange', () => route(admin, account, reports));
  route(admin, account, reports);
  team.load();
  inbox.refresh();
  socket.start();
  if (session.sso && sso) renewSso(() => ({ hash: location.hash, conversation: thread.conversation && thread.conversation.id, draft: $('#reply-input').value }));
  if (place && place.conversation) {
    // Back from renewing the ID token: the conversation that was open, with the unsent draft.
    request('GET', `/api/v1/conversations/${encodeURIComponent(place.conversation)}`)
      .then((c) => {
        inbox.select(c.id);
        openConversation(c);
        $('#reply-input').value = place.draft || '';
      })
      .catch(() => {});
  }
}

/** Re-runs single sign-on shortly before the ID token expires; `place()` says what to come back to. */
function renewSso(place) {
  let wait = 0; // an unreadable token: at once
  try {
    wait = renewAt(decodeJwtPayload(session.token)) - Date.now();
  } catch {
    /* renew at once */
  }
  setTimeout(function renew() {
    if (!running) return;
    // Unreachable issuer: keep working on the current token and try again in 30 s.
    sso.begin({ silent: true, place: place() }).catch(() => setTimeout(renew, 30_000));
  }, Math.min(Math.max(0, wait), 2 ** 31 - 1));
}

/** `#/admin` shows the admin area (admins only), `#/account` my account, `#/reports` the
 * reports; anything else the desk. */
function route(admin, account, reports) {
  const area =
    location.hash === '#/admin' && admin ? 'admin' : location.hash === '#/account' ? 'account' : location.hash === '#/reports' ? 'reports' : 'desk';
  $('#desk').hidden = area !== 'desk';
  $('#admin-view').hidden = area !== 'admin';
  $('#account-view').hidden = area !== 'account';
  $('#reports-view').hidden = area !== 'reports';
  for (const [id, current] of [['#nav-desk', area === 'desk'], ['#nav-admin', area === 'admin'], ['#nav-account', area === 'account'], ['#nav-reports', area === 'reports']]) {
    if (current) $(id).setAttribute('aria-current', 'page');
    else $(id).removeAttribute('aria-current');
  }
  if (area === 'admin') admin.show();
  if (area === 'account') account.show();
  if (area === 'reports') reports.show();
}

const notice = sessionStorage.getItem(NOTICE_KEY);
sessionStorage.removeItem(NOTICE_KEY);
boot().then(() => {
  if (notice && !session) $('#login-error').textContent = notice;
});
