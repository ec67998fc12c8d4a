/**
 * The inspector page at `GET /` of the admin API (as OTP's observer, for a browser): the
 * node's health, its supervisor tree (status, restarts, thread, node, mailbox; a kill button
 * per actor), the cluster's members and the topics — read from the admin API's own JSON
 * routes every 2 s by the page's script.
 *
 * Owns: the page (one HTML document, its script and style inline, nothing loaded from
 * elsewhere) and the headers it is served with: a Content-Security-Policy that lets only
 * that script (by nonce) run and only this server be fetched, no framing, no referrer. The
 * page holds no data: it is served without a token; its requests carry the token the user
 * types in (kept in the tab's sessionStorage) when the server asks for one (401). Data is
 * written with `textContent` only, so an actor path cannot inject markup.
 * Does not own: the routes it reads or the access checks (admin-server.ts, admin-access.ts).
 */
import { randomBytes } from 'node:crypto';

/** The page and its headers, with a fresh nonce each time it is served. */
export function inspectorPage(node: string): { html: string; headers: Record<string, string> } {
  const nonce = randomBytes(16).toString('base64');
  const headers = {
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
  return { html: PAGE.replaceAll('%NONCE%', nonce).replace('%TITLE%', escapeHtml(`apiary · ${node}`)), headers };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%TITLE%</title>
<style nonce="%NONCE%">
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
  h1 { font-size: 1.3em; margin: 0 0 .3em; }
  h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
  .status { display: inline-block; padding: 0 .5em; border-radius: .6em; font-weight: 600; }
  .healthy, .running, .up { background: #d9f2dd; color: #14532d; }
  .degraded, .restarting, .joining, .unreachable { background: #fff1c2; color: #713f12; }
  .critical, .failed, .stopped, .down, .removed { background: #fde2e1; color: #7f1d1d; }
  ul.tree, ul.tree ul { list-style: none; padding-left: 1.2em; margin: 0; }
  ul.tree { padding-left: 0; }
  ul.tree li { margin: .15em 0; }
  .path { font-family: ui-monospace, monospace; margin-right: .5em; }
  .meta { color: #555; margin-left: .6em; }
  button { font: inherit; margin-left: .6em; }
  table { border-collapse: collapse; }
  td, th { padding: .15em .8em .15em 0; text-align: left; }
  #error { color: #7f1d1d; }
  #auth[hidden] { display: none; }
</style>
</head>
<body>
<h1 id="title">apiary</h1>
<div><span id="health" class="status">…</span> <span id="summary" class="meta"></span>
  <button id="pause" type="button">pause</button></div>
<form id="auth" hidden><label>admin token <input id="token" type="password" autocomplete="off"></label> <button type="submit">use</button></form>
<div id="error"></div>
<h2>Supervisor tree</h2>
<ul id="tree" class="tree"></ul>
<h2>Members</h2>
<table><thead><tr><th>node</th><th>state</th><th>incarnation</th><th>url</th></tr></thead><tbody id="members"></tbody></table>
<h2>Topics</h2>
<table><thead><tr><th>topic</th><th>here</th><th>other nodes</th></tr></thead><tbody id="topics"></tbody></table>
<script nonce="%NONCE%">
'use strict';
const $ = (id) => document.getElementById(id);
let paused = false;
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function headers() {
  const t = sessionStorage.getItem('apiary-admin-token');
  return t ? { authorization: 'Bearer ' + t } : {};
}
async function get(path) {
  const res = await fetch(path, { headers: headers(), cache: 'no-store' });
  if (res.status === 401) { $('auth').hidden = false; throw new Error('this node needs its admin token'); }
  if (!res.ok && res.status !== 503) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}
function entry(e) {
  const li = el('li');
  li.dataset.path = e.path;
  li.append(el('span', e.path, 'path'), el('span', e.status, 'status ' + e.status));
  li.append(el('span', e.kind + ' · restarts ' + e.restarts + ' · ' + e.node + '/' + e.thread + ' · mailbox ' + e.mailbox, 'meta'));
  if (e.status === 'running') {
    const kill = el('button', 'kill');
    kill.type = 'button';
    kill.addEventListener('click', async () => {
      if (!confirm('Make ' + e.path + ' exit abnormally? Its supervisor decides what next.')) return;
      const res = await fetch('/actors' + e.path.split('/').map(encodeURIComponent).join('/') + '/kill', { method: 'POST', headers: headers() });
      if (!res.ok) $('error').textContent = 'kill ' + e.path + ': HTTP ' + res.status;
      refresh();
    });
    li.append(kill);
  }
  if (e.children && e.children.length > 0) {
    const ul = el('ul');
    for (const c of e.children) ul.append(entry(c));
    li.append(ul);
  }
  return li;
}
async function refresh() {
  try {
    const [health, tree, members, topics] = await Promise.all([get('/health'), get('/tree'), get('/members'), get('/topics')]);
    $('auth').hidden = true;
    $('error').textContent = '';
    $('title').textContent = 'apiary · ' + tree.node;
    $('health').textContent = health.status;
    $('health').className = 'status ' + health.status;
    $('summary').textContent = health.threads.length + ' thread(s) · ' + members.members.length + ' member(s) · up ' + Math.round(health.uptimeMs / 1000) + ' s';
    $('tree').replaceChildren(...tree.children.map(entry));
    $('members').replaceChildren(...members.members.map((m) => {
      const tr = el('tr');
      tr.append(el('td', m.node), el('td', m.state, 'status ' + m.state), el('td', m.incarnation), el('td', m.url));
      return tr;
    }));
    $('topics').replaceChildren(...topics.topics.map((t) => {
      const tr = el('tr');
      tr.append(el('td', t.topic), el('td', t.local), el('td', Object.entries(t.nodes).map(([n, c]) => n + ': ' + c).join(', ')));
      return tr;
    }));
    document.body.dataset.refreshed = String(Date.now());
  } catch (err) {
    $('error').textContent = err.message;
  }
}
$('auth').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('apiary-admin-token', $('token').value);
  $('token').value = '';
  refresh();
});
$('pause').addEventListener('click', () => {
  paused = !paused;
  $('pause').textContent = paused ? 'resume' : 'pause';
});
setInterval(() => { if (!paused) refresh(); }, 2000);
refresh();
</script>
</body>
</html>
`;
