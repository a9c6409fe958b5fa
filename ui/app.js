// @ts-check
// The ssotray window: sessions with live countdowns, accounts and roles with instant search,
// settings, and adding an Identity Center. All calls go through ipc.js.
//
// Plain ES modules, no framework and no build step: ipc.js (every invoke, typed with JSDoc), app.js
// (the views: sessions with countdowns, accounts with an in-memory search index, settings, add
// Identity Center), index.html, style.css. Strict CSP, `withGlobalTauri: false`.
//
// The state is read every 2 s without the accounts (`get_state`); the accounts come by
// `get_accounts` only when a session's list changed. A keystroke in the search filters the index
// and re-fills at most 50 rows the table already has (fixed table layout, one click listener per
// table), so typing over 1000 accounts costs what typing in a plain field does (`scripts/bench
// app`).
//
// The keyboard: one `keydown` listener; a cursor (an index into the shown rows, favorites first)
// moved by ↑/↓ and put on the first result by each new search; Enter and Ctrl/⌘+Enter call the same
// `open_console` / `copy_console_url` as the row's buttons; keys typed into other fields and Enter
// on a focused button keep their meaning; Esc clears the search, else calls `close_window`, the one
// command the window process answers itself (it closes its own window; the tray process is not
// asked).
//
// The theme is CSS custom properties under `prefers-color-scheme`, no code: tao reads
// xdg-desktop-portal's `color-scheme` and sets GTK's prefer-dark setting, which WebKitGTK turns
// into the media query, also when it changes while the window is open. The window's minimum size
// (`MIN_WIDTH` × `MIN_HEIGHT` in src-tauri/src/window.rs, 640×420) is the size at which a test
// finds nothing overflowing in any view.
import { ipc } from './ipc.js';

/** @typedef {import('./ipc.js').StateDto} StateDto */
/** @typedef {import('./ipc.js').RoleRef} RoleRef */

const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (document.querySelector(sel));

/** @type {StateDto | null} */
let state = null;
/** @type {{role: RoleRef, text: string}[]} */
let index = [];
let indexKey = '';

function toast(/** @type {string} */ text) {
  $('#toast').textContent = text;
  setTimeout(() => { if ($('#toast').textContent === text) $('#toast').textContent = ''; }, 4000);
}

async function act(/** @type {() => Promise<unknown>} */ f, /** @type {string} */ done = '') {
  try {
    await f();
    if (done) toast(done);
  } catch (e) {
    toast(/** @type {any} */ (e).message || String(e));
  }
  await refresh();
}

/** "6 h 12 min", "12 min 05 s" */
function left(/** @type {number} */ ms) {
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h > 0 ? `${h} h ${m} min` : `${m} min ${String(sec).padStart(2, '0')} s`;
}

function el(/** @type {string} */ tag, /** @type {Record<string, string>} */ attrs = {}, /** @type {(Node|string)[]} */ children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function button(/** @type {string} */ text, /** @type {string} */ cls, /** @type {() => void} */ onClick) {
  const b = el('button', { class: cls }, [text]);
  b.addEventListener('click', onClick);
  return b;
}

/** The countdowns tick in place, so buttons are never replaced under the pointer. */
function tick() {
  const now = Date.now();
  for (const e of document.querySelectorAll('[data-until]')) {
    const h = /** @type {HTMLElement} */ (e);
    h.textContent = `${h.dataset.prefix}${left(Number(h.dataset.until) - now)}${h.dataset.suffix}`;
  }
}

let sessionsKey = '';
function renderSessions() {
  if (!state) return;
  // Rebuilt only when something other than the clock changed.
  const key = JSON.stringify({ ...state, now: null });
  if (key === sessionsKey) return;
  sessionsKey = key;
  $('#demo-badge').hidden = !state.demo;
  $('#no-tray').hidden = state.trayIcon;
  $('#problems').replaceChildren(...state.configProblems.map((p) => el('p', { class: 'error' }, [`~/.aws/config: ${p}`])));
  const now = Date.now();
  const cards = state.sessions.map((s) => {
    const card = el('div', { class: 'card session', id: `session-${s.name.replace(/[^A-Za-z0-9_-]/g, '_')}` });
    card.append(el('h2', {}, [s.name + (s.legacy ? ' (legacy profile)' : '')]), el('p', { class: 'start-url' }, [`${s.startUrl} · ${s.region}`]));
    const status = el('p', { class: 'status' });
    if (s.pending) {
      if (s.pending.kind === 'device-code') {
        const code = s.pending.userCode;
        status.append(`Waiting for approval: open ${s.pending.verificationUri} and confirm the code `, el('span', { class: 'code user-code' }, [code]), ' ',
          button('Copy code', 'copy-code', () => act(() => ipc.copyText(code), 'Code copied')),
          button('Open the page', 'open-page', () => act(() => ipc.openLoginPage(s.name))));
      } else {
        status.append('Waiting for the browser sign-in…');
      }
    } else if (s.endedAt) {
      status.append(el('span', { class: 'state-bad' }, [`Session ended at ${new Date(s.endedAt).toLocaleTimeString()}`]));
    } else if (s.state === 'valid' && s.expiresAt) {
      const access = new Date(s.expiresAt).getTime();
      status.append(el('span', { class: 'state-ok access-left', 'data-until': String(access), 'data-prefix': 'Access token: ', 'data-suffix': ' left' }, [`Access token: ${left(access - now)} left`]));
      if (s.sessionEnd) {
        const end = new Date(s.sessionEnd.at).getTime();
        const source = { learned: 'learned from your last session', configured: 'your setting', assumed: 'assuming 8 h', 'token-expiry': 'token expiry' }[s.sessionEnd.source];
        const cls = end - now < 30 * 60 * 1000 ? 'state-warn' : 'state-ok';
        const suffix = ` left (ends ~${new Date(end).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}, ${source})`;
        status.append(' · ', el('span', { class: `${cls} session-left`, 'data-until': String(end), 'data-prefix': 'Session: ', 'data-suffix': suffix }, [`Session: ${left(end - now)}${suffix}`]));
      }
    } else if (s.state === 'expired') {
      status.append(el('span', { class: 'state-warn' }, [s.canRefresh ? 'Access token expired; refreshing…' : 'Access token expired: log in again']));
    } else if (s.state === 'unreadable') {
      status.append(el('span', { class: 'state-bad' }, [`Token file unreadable (${s.reason}); move it away and log in again`]));
    } else {
      status.append(el('span', { class: 'state-bad' }, ['Logged out']));
    }
    card.append(status);
    if (s.error) card.append(el('p', { class: 'error' }, [s.error]));
    const buttons = el('p', { class: 'actions' });
    const loggedIn = s.state === 'valid' && !s.endedAt;
    if (!s.pending) {
      if (!loggedIn) {
        buttons.append(button('Log in', 'login', () => act(() => ipc.login(s.name))));
        buttons.append(button('Log in with a device code', 'login-device', () => act(() => ipc.login(s.name, 'device-code'))));
      } else {
        buttons.append(button('Renew session', 'renew', () => act(() => ipc.renew(s.name))));
        buttons.append(button('Log out', 'logout', () => act(() => ipc.logout(s.name), 'Logged out')));
      }
    }
    card.append(buttons);
    return card;
  });
  $('#sessions').replaceChildren(...(cards.length ? cards : [el('p', {}, ['No sso-sessions yet: add one under “Add Identity Center”.'])]));
}

/** Rows carry their role's position in `shown`; one listener on each table acts for all buttons. */
/** @type {RoleRef[]} */
let shown = [];
function roleRow(/** @type {RoleRef} */ role, /** @type {boolean} */ favorite, /** @type {number} */ at) {
  const row = el('tr', { class: 'role-row' }, [
    el('td', {}, [el('button', { class: 'favorite' }, [''])]),
    el('td', { class: 'account' }, ['']),
    el('td', { class: 'role' }, ['']),
    el('td', {}, [el('input', { class: 'destination', list: 'services', placeholder: 'service', title: 'Console service to open (s3, ec2, …); empty: the console home', 'aria-label': 'Service to open (s3, ec2, …)', autocomplete: 'off' })]),
    el('td', {}, ['Open console', 'Copy URL', 'Copy credentials', 'Copy profile'].map((text, i) => el('button', { class: ['open-console', 'copy-url', 'copy-creds', 'copy-profile'][i] }, [text]))),
  ]);
  fillRow(row, role, favorite, at);
  return row;
}

/** Sets a row's texts (only those that changed: typing re-uses the rows it already has). */
function fillRow(/** @type {HTMLElement} */ row, /** @type {RoleRef} */ role, /** @type {boolean} */ favorite, /** @type {number} */ at) {
  const set = (/** @type {Element} */ e, /** @type {string} */ text) => { if (e.textContent !== text) e.textContent = text; };
  row.dataset.at = String(at);
  set(/** @type {Element} */ (row.querySelector('.favorite')), favorite ? '★' : '☆');
  set(row.children[1], `${role.accountName} (${role.accountId})`);
  const chained = role.profile ? chainedByProfile.get(role.profile) : undefined;
  set(row.children[2], chained ? `↳ ${chained.profile} (${chained.accountId} / ${chained.roleName})` : role.roleName);
  row.classList.toggle('chained', !!chained);
  // A favorite's remembered service (typing into the box is left alone).
  const box = /** @type {HTMLInputElement} */ (row.querySelector('.destination'));
  const remembered = (state && state.destinations[roleKey(role)]) || '';
  if (row.dataset.role !== roleKey(role) || (document.activeElement !== box && favorite)) {
    box.value = remembered;
    row.dataset.role = roleKey(role);
  }
  row.hidden = false;
}

/** A role's key, as the Rust side names remembered destinations. */
function roleKey(/** @type {RoleRef} */ r) {
  return `${r.session}|${r.accountId}|${r.roleName}|${r.profile || ''}`;
}

/** The service typed in a row's destination box. */
function serviceOf(/** @type {HTMLElement} */ row) {
  return (/** @type {HTMLInputElement} */ (row.querySelector('.destination'))).value.trim();
}

/** Chained profiles by name. @type {Map<string, import('./ipc.js').Chained>} */
let chainedByProfile = new Map();

/** @type {Record<string, [(r: RoleRef, service: string) => Promise<unknown>, string]>} */
const roleActions = {
  favorite: [ipc.toggleFavorite, ''],
  'open-console': [ipc.openConsole, 'Console opened'],
  'copy-url': [ipc.copyConsoleUrl, 'Console URL copied (cleared in 60 s)'],
  'copy-creds': [ipc.copyCredentials, 'Credentials copied (cleared in 60 s)'],
  'copy-profile': [ipc.copyProfileName, 'Profile name copied'],
};
function onRoleClick(/** @type {Event} */ ev) {
  const b = /** @type {HTMLElement} */ (ev.target).closest('button');
  const row = /** @type {HTMLElement | null} */ (b && b.closest('tr[data-at]'));
  const role = row && shown[Number(row.dataset.at)];
  const action = b && roleActions[b.className];
  if (row && role && action) {
    const service = serviceOf(row);
    act(() => action[0](role, service), action[1]);
  }
}

/** Accounts per session, fetched only when a session's list changed (`fetchedAt`). */
/** @type {Map<string, import('./ipc.js').AccountRoles[]>} */
let accounts = new Map();
async function loadAccounts() {
  if (!state) return;
  const key = state.sessions.map((s) => `${s.name}:${s.fetchedAt}`).join('|') + JSON.stringify(state.chained);
  if (key === indexKey) return;
  const lists = await ipc.getAccounts();
  accounts = new Map(lists.map((l) => [l.session, l.accounts]));
  indexKey = key;
  index = [];
  chainedByProfile = new Map(state.chained.map((c) => [c.profile, c]));
  const datalist = $('#services');
  if (datalist.children.length !== state.services.length) datalist.replaceChildren(...state.services.map((n) => el('option', { value: n })));
  for (const [session, list] of accounts) {
    for (const a of list) {
      for (const r of a.roles) {
        const role = { session, accountId: a.accountId, accountName: a.accountName, roleName: r };
        index.push({ role, text: `${session} ${a.accountName} ${a.accountId} ${r}`.toLowerCase() });
        // Roles assumed on top of this one, right under it.
        for (const c of state.chained.filter((c) => c.session === session && c.sourceAccountId === a.accountId && c.sourceRoleName === r)) {
          index.push({ role: { ...role, profile: c.profile }, text: `${session} ${a.accountName} ${a.accountId} ${r} ${c.profile} ${c.accountId} ${c.roleName}`.toLowerCase() });
        }
      }
    }
  }
}

const MAX_ROWS = 50;
let rowsKey = '';
let favoritesKey = '';
/** Redraws the accounts view; the rows only when the search, the lists or the favorites changed. */
function renderAccounts() {
  if (!state) return;
  const select = /** @type {HTMLSelectElement} */ ($('#accounts-session'));
  const names = state.sessions.filter((s) => !s.legacy).map((s) => s.name);
  if (select.options.length !== names.length) select.replaceChildren(...names.map((n) => el('option', { value: n }, [n])));
  const current = state.sessions.find((s) => s.name === select.value);
  $('#accounts-info').textContent = current
    ? current.progress ? `Listing roles: ${current.progress[0]} of ${current.progress[1]} accounts…`
      : current.fetchedAt ? `Last refreshed ${new Date(current.fetchedAt).toLocaleTimeString()}` : 'Not listed yet'
    : '';
  const query = (/** @type {HTMLInputElement} */ ($('#search'))).value.toLowerCase();
  const favKey = JSON.stringify([state.favorites, state.destinations]);
  const key = JSON.stringify([indexKey, query, favKey]);
  if (key === rowsKey) return;
  rowsKey = key;
  const favs = state.favorites.length;
  if (favKey !== favoritesKey) {
    favoritesKey = favKey;
    $('#favorites').replaceChildren(...(favs ? [el('h2', {}, ['Favorites']), el('table', {}, [el('tbody', {}, state.favorites.map((r, i) => roleRow(r, true, i)))])] : []));
  }
  const favorites = new Set(state.favorites.map(roleKey));
  const words = query.split(/\s+/).filter(Boolean);
  const matches = [];
  for (const entry of index) {
    if (words.every((w) => entry.text.includes(w))) {
      matches.push(entry.role);
      if (matches.length > MAX_ROWS) break;
    }
  }
  const rows = matches.slice(0, MAX_ROWS);
  shown = [...state.favorites, ...rows];
  // The table keeps its rows: each keystroke only changes texts and hides the rows not needed.
  const body = $('#roles tbody');
  rows.forEach((r, i) => {
    const favorite = favorites.has(roleKey(r));
    const row = /** @type {HTMLElement | undefined} */ (body.children[i]);
    if (row) fillRow(row, r, favorite, favs + i);
    else body.append(roleRow(r, favorite, favs + i));
  });
  for (let i = rows.length; i < body.children.length; i++) /** @type {HTMLElement} */ (body.children[i]).hidden = true;
  $('#roles-more').textContent = matches.length > MAX_ROWS ? `Showing the first ${MAX_ROWS}: type more to narrow it down.` : `${matches.length} role(s)`;
  // A new search puts the cursor on its first result (favorites stay above it).
  if (query !== cursorQuery) {
    cursorQuery = query;
    cursor = query && rows.length ? favs : 0;
  }
  markCursor();
}

/** The keyboard's row: an index into the shown rows, favorites first (as `shown`). */
let cursor = 0;
let cursorQuery = '';
function navRows() {
  return /** @type {HTMLElement[]} */ ([...document.querySelectorAll('#favorites tr[data-at], #roles tr[data-at]')]).filter((r) => !r.hidden);
}
function markCursor(/** @type {boolean} */ scroll = false) {
  const rows = navRows();
  cursor = Math.max(0, Math.min(cursor, rows.length - 1));
  rows.forEach((r, i) => {
    r.classList.toggle('selected', i === cursor);
    r.setAttribute('aria-selected', String(i === cursor));
  });
  if (scroll && rows[cursor]) rows[cursor].scrollIntoView({ block: 'nearest' });
}

/** ↑/↓ move the cursor, Enter opens its console, Ctrl (or ⌘) + Enter copies its console URL,
 *  Esc clears the search, then closes the window. Keys typed into other fields, or Enter on a
 *  focused button, keep their usual meaning. */
function onKey(/** @type {KeyboardEvent} */ ev) {
  const view = (location.hash || '#sessions').slice(1);
  const search = /** @type {HTMLInputElement} */ ($('#search'));
  const target = /** @type {HTMLElement} */ (ev.target);
  const free = target === search || target === document.body || target === document.documentElement;
  // Enter in a row's destination box opens that row's console on the service typed.
  if (view === 'accounts' && ev.key === 'Enter' && !ev.isComposing && target.classList.contains('destination')) {
    const row = /** @type {HTMLElement | null} */ (target.closest('tr[data-at]'));
    const role = row && shown[Number(row.dataset.at)];
    if (!row || !role) return;
    ev.preventDefault();
    const [action, done] = ev.ctrlKey || ev.metaKey ? roleActions['copy-url'] : roleActions['open-console'];
    act(() => action(role, serviceOf(row)), done);
    return;
  }
  if (ev.key === 'Escape' && (view === 'accounts' || view === 'sessions')) {
    ev.preventDefault();
    if (view === 'accounts' && search.value) {
      search.value = '';
      renderAccounts();
      search.focus();
    } else {
      ipc.closeWindow().catch((e) => toast(String(e)));
    }
    return;
  }
  if (view !== 'accounts' || !free) return;
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    cursor += ev.key === 'ArrowDown' ? 1 : -1;
    markCursor(true);
  } else if (ev.key === 'Enter') {
    const row = navRows()[cursor];
    const role = row && shown[Number(row.dataset.at)];
    if (!role) return;
    ev.preventDefault();
    const [action, done] = ev.ctrlKey || ev.metaKey ? roleActions['copy-url'] : roleActions['open-console'];
    act(() => action(role, serviceOf(row)), done);
  }
}

async function loadSettings() {
  const s = await ipc.getSettings();
  (/** @type {HTMLInputElement} */ ($('#lead-times'))).value = s.leadTimesMinutes.join(', ');
  (/** @type {HTMLInputElement} */ ($('#autostart'))).checked = s.autostart;
  $('#session-settings').replaceChildren(...s.sessions.map((x) => {
    const f = el('fieldset', { 'data-session': x.name }, [el('legend', {}, [x.name])]);
    f.innerHTML += `
      <label>Portal session length (hours; empty: learned, else 8) <input name="length" value="${x.sessionLengthHours ?? ''}"></label>
      <label>Login flow <select name="flow"><option value="">browser (default)</option><option value="device-code">device code</option></select></label>
      <label>Console links <select name="link"><option value="federation">federation</option><option value="portal">portal link</option></select></label>
      <label>Console session (minutes, 15 to 720) <input name="duration" value="${Math.round(x.consoleSessionDuration / 60)}"></label>
      <label>Browser command for this session's consoles <input name="browser"></label>
      <label><input type="checkbox" name="keychain"> Keep the refresh token in the OS keychain</label>`;
    /** @type {HTMLSelectElement} */ (f.querySelector('[name=flow]')).value = x.loginFlow ?? '';
    /** @type {HTMLSelectElement} */ (f.querySelector('[name=link]')).value = x.consoleLink;
    /** @type {HTMLInputElement} */ (f.querySelector('[name=browser]')).value = x.browser ?? '';
    /** @type {HTMLInputElement} */ (f.querySelector('[name=keychain]')).checked = x.keychain;
    return f;
  }));
}

async function saveSettings(/** @type {Event} */ ev) {
  ev.preventDefault();
  const leads = (/** @type {HTMLInputElement} */ ($('#lead-times'))).value.split(',').map((x) => parseInt(x, 10)).filter((x) => x > 0);
  const sessions = [...document.querySelectorAll('#session-settings fieldset')].map((f) => {
    const v = (/** @type {string} */ n) => /** @type {HTMLInputElement} */ (f.querySelector(`[name=${n}]`)).value;
    const length = parseFloat(v('length'));
    return {
      name: /** @type {HTMLElement} */ (f).dataset.session ?? '',
      sessionLengthHours: Number.isFinite(length) ? length : null,
      loginFlow: v('flow') || null,
      consoleLink: v('link'),
      consoleSessionDuration: Math.min(720, Math.max(15, parseInt(v('duration'), 10) || 60)) * 60,
      browser: v('browser') || null,
      keychain: /** @type {HTMLInputElement} */ (f.querySelector('[name=keychain]')).checked,
    };
  });
  try {
    const toAllow = await ipc.saveSettings(/** @type {any} */ ({ leadTimesMinutes: leads, autostart: /** @type {HTMLInputElement} */ ($('#autostart')).checked, sessions }));
    $('#settings-status').textContent = toAllow.length
      ? `Saved. Allow the rest for ${toAllow.join(', ')} in the notification: a new browser command is a program ssotray will run, and a refresh token taken out of the keychain goes back into a file.`
      : 'Saved';
  } catch (e) {
    $('#settings-status').textContent = /** @type {any} */ (e).message || String(e);
  }
}

let added = '';
async function addIdentityCenter(/** @type {Event} */ ev) {
  ev.preventDefault();
  const v = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id)).value.trim();
  try {
    await ipc.addIdentityCenter(v('#add-name'), v('#add-start-url'), v('#add-region'));
    added = v('#add-name');
    $('#add-status').textContent = `Added [sso-session ${added}] to ~/.aws/config. Log in, then generate profiles if you like.`;
    $('#add-next').hidden = false;
  } catch (e) {
    toast(/** @type {any} */ (e).message || String(e));
  }
  await refresh();
}

function showView() {
  const view = (location.hash || '#sessions').slice(1);
  for (const v of ['sessions', 'accounts', 'settings', 'add']) {
    $(`#view-${v}`).hidden = v !== view;
    $(`#nav-${v}`).classList.toggle('active', v === view);
  }
  if (view === 'settings') loadSettings().catch((e) => toast(String(e)));
  // The accounts view opens with the search field focused: type, ↑/↓, Enter.
  if (view === 'accounts') $('#search').focus();
}

async function refresh() {
  try {
    state = await ipc.getState();
    await loadAccounts();
  } catch (e) {
    toast(String(e));
    return;
  }
  renderSessions();
  renderAccounts();
}

window.addEventListener('hashchange', showView);
document.addEventListener('keydown', onKey);
$('#search').addEventListener('input', () => renderAccounts());
$('#accounts-session').addEventListener('change', () => renderAccounts());
$('#favorites').addEventListener('click', onRoleClick);
$('#roles').addEventListener('click', onRoleClick);
$('#refresh-accounts').addEventListener('click', () => act(() => ipc.refreshAccounts(/** @type {HTMLSelectElement} */ ($('#accounts-session')).value)));
$('#settings-form').addEventListener('submit', saveSettings);
$('#add-form').addEventListener('submit', addIdentityCenter);
$('#quit').addEventListener('click', () => ipc.quit().catch((e) => toast(String(e))));
$('#add-login').addEventListener('click', () => act(() => ipc.login(added)));
$('#add-profiles').addEventListener('click', () => act(async () => toast(`${await ipc.generateProfiles(added)} profile(s) written`)));
showView();
refresh();
// Countdowns tick every second; the state is read again every two.
setInterval(tick, 1000);
setInterval(refresh, 2000);
