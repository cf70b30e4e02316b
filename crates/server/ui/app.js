// The dashboard's entry point: hash routes (#/login, #/overview, #/lot/ID, #/audit,
// #/reports, #/reports/N), the sign-in form, the header showing who is signed in.
// Each page module exports `render(main, ...params)` and builds its content with `dom.js`.

import { ApiError, explain, restore, session, signIn, signOut, token } from './api.js';
import { fill, h } from './dom.js';
import * as audit from './audit.js';
import * as lot from './lot.js';
import * as overview from './overview.js';
import * as reports from './reports.js';

const main = document.getElementById('main');
const notice = document.getElementById('notice');
/** Set once the visitor chose the public view (no token) in this tab. */
const PUBLIC_KEY = 'cphar.public';

/** Shows `text` in the alert region (`kind`: `error` or `ok`); empty text hides it. */
export function announce(text, kind = 'error') {
  notice.hidden = !text;
  notice.className = kind === 'ok' ? 'notice ok' : 'notice';
  notice.textContent = text || '';
}

function renderWho() {
  const who = document.getElementById('who');
  const s = session.current;
  fill(who,
    s ? h('span', { id: 'who-text' }, `Signed in as ${s.subject} (${s.role})`)
      : h('span', { id: 'who-text' }, 'Public view'),
    h('button', { type: 'button', id: 'sign-out', onclick: () => {
      signOut();
      sessionStorage.removeItem(PUBLIC_KEY);
      location.hash = '#/login';
      renderWho();
    } }, s ? 'Sign out' : 'Sign in'));
}

function renderLogin() {
  document.title = 'Sign in · CPHAR';
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert', hidden: true });
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-help login-error',
  });
  const button = h('button', { type: 'submit', id: 'sign-in' }, 'Sign in');
  const form = h('form', { id: 'login-form', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const candidate = input.value.trim();
    if (!candidate) {
      error.textContent = 'Enter an API token.';
      error.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await signIn(candidate);
      sessionStorage.removeItem(PUBLIC_KEY);
      renderWho();
      location.hash = '#/overview';
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 401
        ? `Sign-in failed: this token was not accepted (unknown, revoked, expired or mistyped). (${e.reasonCode})`
        : `Sign-in failed. ${explain(e)}`;
      error.hidden = false;
      input.focus();
    } finally {
      button.disabled = false;
    }
  } },
  h('label', { for: 'token' }, 'API token'),
  h('p', { id: 'token-help', class: 'muted' },
    'A token made with POST /tokens or `cphar client token`. It is kept in this tab only and sent as a bearer token.'),
  h('div', { class: 'inline-row' }, input, ' ', button));
  fill(main,
    h('h1', {}, 'Sign in'),
    h('section', {}, form, error),
    h('section', {},
      h('h2', {}, 'Without a token'),
      h('p', {}, 'The public view shows the active reserve set without lot details, the audit log\'s checkpoint verified against its leaves, and the signed reports.'),
      h('button', { type: 'button', class: 'secondary', id: 'public-view', onclick: () => {
        sessionStorage.setItem(PUBLIC_KEY, '1');
        location.hash = '#/overview';
      } }, 'Continue without a token')));
  input.focus();
}

function markNav(name) {
  for (const a of document.querySelectorAll('nav a[data-route]')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

let generation = 0;

async function route() {
  const mine = ++generation;
  announce('');
  const parts = (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const [name, ...params] = parts;
  const signedIn = Boolean(token() && session.current);
  if (name === 'login' || (!signedIn && !sessionStorage.getItem(PUBLIC_KEY))) {
    markNav('');
    renderLogin();
    return;
  }
  const pages = { overview, lot, audit, reports };
  const page = pages[name];
  markNav(name === 'lot' ? 'overview' : name);
  if (!page) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. '), h('a', { href: '#/overview' }, 'Go to the overview'));
    return;
  }
  fill(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await page.render(main, params, () => mine === generation);
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.status === 401) {
      // The token was revoked or expired meanwhile: back to the sign-in form, saying why.
      signOut();
      renderWho();
      renderLogin();
    }
    announce(explain(e));
  }
  if (mine === generation) {
    const heading = main.querySelector('h1');
    if (heading) document.title = `${heading.textContent} · CPHAR`;
  }
}

async function start() {
  try {
    await restore();
  } catch (e) {
    announce(explain(e));
  }
  renderWho();
  window.addEventListener('hashchange', () => {
    route();
    main.focus();
  });
  await route();
}

start();
