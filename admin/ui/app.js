// The admin page: polls the JSON API every 2 s with the bearer token kept in sessionStorage.
// Everything shown is set with textContent: Call-IDs and contacts come from the network.
'use strict';

const POLL_MS = 2000;
const PAGE = 50;
let dialogOffset = 0;
let timer;

const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem('sipshard-token') || '';

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

function setStatus(text, kind) {
  const s = $('status');
  s.textContent = text;
  s.className = `status ${kind}`;
}

function cell(text, num) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  if (num) td.className = 'num';
  return td;
}

function fillTable(id, rows) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement('tr');
    tr.append(...cells);
    return tr;
  }));
}

function card(label, value, key) {
  const d = document.createElement('div');
  d.className = 'card';
  d.dataset.key = key;
  const v = document.createElement('div');
  v.className = 'v';
  v.textContent = String(value);
  const k = document.createElement('div');
  k.className = 'k';
  k.textContent = label;
  d.append(v, k);
  return d;
}

const ms = (v) => (v === null ? '-' : `${v} ms`);
const age = (t) => `${Math.max(0, Math.round((Date.now() - t) / 1000))} s`;

function renderStats(s) {
  const t = s.total;
  const c = t.counters;
  const o = s.main.overload; // whole-proxy shedding (overload.*), beside the per-shard bound's 503s
  $('totals').replaceChildren(
    card('calls/s', t.callsPerSecond, 'cps'),
    card('dialogs', t.dialogs.total, 'dialogs'),
    card('confirmed', t.dialogs.confirmed, 'confirmed'),
    card('transactions', t.transactions, 'transactions'),
    card('in flight', t.inFlight, 'inflight'),
    card('calls attempted', c.callsAttempted || 0, 'attempted'),
    card('calls answered', c.callsAnswered || 0, 'answered'),
    card('setup p50', ms(t.callSetup.p50Ms), 'p50'),
    card('setup p99', ms(t.callSetup.p99Ms), 'p99'),
    card('overload 503', t.overload503, 'overload'),
    card('dropped', (c.dropped || 0) + t.overloadDropped, 'dropped'),
    card('shedding', o.shedding ? 'yes' : 'no', 'shedding'),
    card('shed (503 + dropped)', o.shed503 + o.shedDropped, 'shed'),
    card('registered', s.registrations.bindings, 'registered'),
    card('shards', t.shards, 'shards'),
    card('uptime', `${s.uptimeSeconds} s`, 'uptime'),
  );
  fillTable('shards', s.shards.map((sh) => [
    cell(sh.thread === 'main' ? `${sh.shardId} (main thread)` : sh.shardId, true), cell(sh.inFlight, true), cell(sh.callsPerSecond, true), cell(sh.counters.messagesIn, true),
    cell(sh.transactions, true), cell(sh.dialogs.total, true), cell(sh.overload503, true), cell((sh.counters.dropped || 0) + sh.overloadDropped, true),
  ]));
}

function renderDialogs(p) {
  $('dialogs-count').textContent = `(${p.total})`;
  fillTable('dialogs', p.items.map((d) => [
    cell(d.shardId, true), cell(d.callId), cell(d.state), cell(d.caller), cell(d.callee), cell(age(d.createdAt), true),
  ]));
  $('dialogs-prev').disabled = p.offset === 0;
  $('dialogs-next').disabled = p.offset + p.limit >= p.total;
}

function renderRegistrations(p) {
  $('regs-count').textContent = `(${p.total})`;
  fillTable('registrations', p.items.map((r) => [
    cell(r.aor), cell(r.contact), cell(r.source), cell(`${r.expiresInSeconds} s`, true), cell(r.userAgent),
  ]));
}

// 100rel as configured, and what is in force when `auto` learned disable from a peer's PRACK answer
function rel100Text(r) {
  if (r.learnedAt === null) return r.configured;
  return `${r.configured}: ${r.mode} (learned from ${r.learnedStatus} at ${new Date(r.learnedAt).toLocaleString()})`;
}

const expiresIn = (at) => (at === undefined || at === null ? '' : `${Math.max(0, Math.round((at - Date.now()) / 1000))} s`);

// exactly one of destination, user, line, trunks is set (the others are '' or [])
function routeTarget(r) {
  if (r.destination) return r.destination;
  if (r.line) return `line ${r.line}`;
  if (r.trunks && r.trunks.length > 0) return `trunks ${r.trunks.join(', ')}`;
  return r.user ? `user ${r.user}` : '';
}

function renderPeers(p) {
  $('lines-count').textContent = `(${p.lines.length})`;
  fillTable('lines', p.lines.map((l) => {
    const s = l.state;
    return [cell(l.name), cell(l.registrar), cell(s ? s.state : 'not started'), cell(s?.lastStatus, true), cell(s ? expiresIn(s.expiresAt) : '', true),
      cell(s?.failures, true), cell(s?.shard, true), cell(rel100Text(l.rel100))];
  }));
  $('trunks-count').textContent = `(${p.trunks.length})`;
  fillTable('trunks', p.trunks.map((tr) => {
    const s = tr.state;
    // a trunk without OPTIONS keep-alive has no reported state: it is always up
    const state = s ? s.state : tr.keepAliveSeconds === 0 ? 'up (no keep-alive)' : 'not started';
    return [cell(tr.name), cell(tr.addresses.join(', ')), cell(state), cell(s?.lastStatus, true), cell(s?.failures, true), cell(s?.shard, true), cell(rel100Text(tr.rel100))];
  }));
  fillTable('peers', p.routes.map((r) => [cell(r.prefix), cell(routeTarget(r)), cell(r.strip, true), cell(r.prepend), cell(r.state)]));
}

async function refresh() {
  try {
    const [stats, dialogs, regs, peers] = await Promise.all([
      api('/api/stats'), api(`/api/dialogs?offset=${dialogOffset}&limit=${PAGE}`), api(`/api/registrations?limit=${PAGE}`), api('/api/peers'),
    ]);
    renderStats(stats);
    renderDialogs(dialogs);
    renderRegistrations(regs);
    renderPeers(peers);
    setStatus(`live · ${new Date(stats.time).toLocaleTimeString()}`, 'ok');
  } catch (err) {
    setStatus(String(err.message || err), 'error');
  }
}

function start() {
  clearInterval(timer);
  refresh();
  timer = setInterval(refresh, POLL_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem('sipshard-token', $('token').value.trim());
    $('token').value = '';
    start();
  });
  $('dialogs-prev').addEventListener('click', () => { dialogOffset = Math.max(0, dialogOffset - PAGE); refresh(); });
  $('dialogs-next').addEventListener('click', () => { dialogOffset += PAGE; refresh(); });
  if (token() !== '') start();
});
