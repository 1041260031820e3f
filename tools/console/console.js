/* console.js: the ttai web console (docs/console.md).
 *
 * A single page over the public HTTP API (docs/api.md) and nothing else:
 * every call carries the token the user typed (kept in localStorage) and
 * goes to the namespace chosen in the header. Pages are hash routes:
 *
 *   #/workflows                     list, filters, live counts
 *   #/workflows/ID[?run=RUN]        detail, actions, history table and timeline,
 *                                   time travel
 *   #/schedules, #/schedules/ID     schedules
 *   #/alerts                        the live alert stream
 *
 * Streams (history follow, alerts) are read with fetch() rather than
 * EventSource, because EventSource cannot send an Authorization header.
 * Every page returns a cleanup function that stops its timers and streams.
 * The DOM is built with h() and text nodes only: no data ever goes through
 * innerHTML.
 */
'use strict';

const STATUSES = ['running', 'completed', 'failed', 'canceled', 'terminated', 'continued_as_new',
                  'timed_out'];
const LIST_REFRESH_MS = 3000;
/* Timeline colours by outcome (spans) and kind (points). */
const COLORS = {completed: '#1a7f37', failed: '#b42318', timedout: '#b42318', canceled: '#9a6700',
                running: '#0969da', fired: '#6639ba', pending: '#8c959f', signal: '#0969da',
                marker: '#6e7781', cancel: '#9a6700', close: '#1b1f24'};

/* ---- Session ------------------------------------------------------------------ */

const session = {
  get ns() { return localStorage.getItem('ttai.ns') || 'default'; },
  get token() { return localStorage.getItem('ttai.token') || ''; },
  save(ns, token) {
    localStorage.setItem('ttai.ns', ns || 'default');
    if (token) localStorage.setItem('ttai.token', token); else localStorage.removeItem('ttai.token');
  },
};

/* ---- DOM helpers ---------------------------------------------------------------- */

/* h('a', {href: '#'}, 'text', child, [more]) -> element. Attributes starting
 * with "on" are listeners; null and false attributes are left out. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'className') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {}))
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined)
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/* A time in the user's zone, with the UTC time on hover. */
function when(iso) {
  if (!iso) return h('span', {className: 'muted'}, '—');
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const local = d.toLocaleString(undefined, {year: 'numeric', month: 'short', day: '2-digit',
                                             hour: '2-digit', minute: '2-digit', second: '2-digit'});
  return h('time', {datetime: iso, title: 'UTC ' + d.toISOString()}, local);
}

function badge(status) {
  return h('span', {className: 'badge s-' + status}, status.replace(/_/g, ' '));
}

function json(v) {
  return v === undefined ? '' : JSON.stringify(v);
}

function shortRun(run) {
  return run ? run.slice(0, 8) : '';
}

function enc(x) { return encodeURIComponent(x); }

function showStatus(msg, isError) {
  const el = document.getElementById('status');
  el.textContent = msg || '';
  el.className = 'status' + (msg && isError ? ' error' : '');
}

/* ---- The API ----------------------------------------------------------------------- */

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra) {
  const hd = Object.assign({}, extra);
  if (session.token) hd.Authorization = 'Bearer ' + session.token;
  return hd;
}

function nsPath(path) {
  return '/api/v1/namespaces/' + enc(session.ns) + path;
}

/* Calls the API; resolves to the JSON answer, rejects with an ApiError. */
async function api(method, path, body) {
  const init = {method, headers: headers(body !== undefined ? {'Content-Type': 'application/json'} : {})};
  if (body !== undefined) init.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch(nsPath(path), init);
  } catch (e) {
    throw new ApiError(0, 'network', 'cannot reach ttaid: ' + e.message);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) {
    const err = data && data.error ? data.error : {code: 'http_' + res.status, message: text || res.statusText};
    throw new ApiError(res.status, err.code, err.message);
  }
  return data;
}

/* Reads a Server-Sent Events stream; calls onEvent(type, data, id) for each
 * event. Resolves when the stream ends; the AbortSignal ends it early. */
async function sse(path, signal, onEvent, extraHeaders) {
  const res = await fetch(nsPath(path), {headers: headers(Object.assign({Accept: 'text/event-stream'}, extraHeaders)),
                                         signal});
  if (!res.ok) {
    const text = await res.text();
    let msg = text;
    try { msg = JSON.parse(text).error.message; } catch (e) { /* not JSON */ }
    throw new ApiError(res.status, 'stream', msg);
  }
  if (res.status === 204 || !res.body) return; // a closed run with nothing left to send
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buf += decoder.decode(value, {stream: true});
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let type = 'message', data = '', id = null;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
        else if (line.startsWith('id: ')) id = line.slice(4);
      }
      if (data) {
        try { onEvent(type, JSON.parse(data), id); } catch (e) { console.error(e); }
      }
    }
  }
}

function errorText(e) {
  return e instanceof ApiError ? `${e.message} (${e.status} ${e.code})` : String(e.message || e);
}

/* ---- Router ------------------------------------------------------------------------ */

let cleanup = null;

function route() {
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } }
  cleanup = null;
  showStatus('');
  const hash = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart] = hash.split('?');
  const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(queryPart || '');
  const main = document.getElementById('main');
  main.replaceChildren();
  const page = parts[0] || 'workflows';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (page === 'workflows' && parts.length > 1) cleanup = workflowPage(main, parts.slice(1).join('/'), params);
  else if (page === 'workflows') cleanup = listPage(main, params);
  else if (page === 'schedules' && parts.length > 1) cleanup = schedulePage(main, parts.slice(1).join('/'));
  else if (page === 'schedules') cleanup = schedulesPage(main);
  else if (page === 'alerts') cleanup = alertsPage(main);
  else append(main, [h('h1', {}, 'Not found'), h('p', {}, h('a', {href: '#/workflows'}, 'Workflows'))]);
  document.title = (main.querySelector('h1') ? main.querySelector('h1').textContent + ' · ' : '') + 'ttai console';
}

/* Moves focus to the page's heading after a navigation, for keyboard and
 * screen reader users. */
function focusMain() {
  const h1 = document.querySelector('main h1');
  if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({preventScroll: true}); }
}

/* ---- Workflow list ---------------------------------------------------------------------- */

function listPage(main, params) {
  const filter = {status: params.get('status') || '', type: params.get('type') || '',
                  prefix: params.get('prefix') || ''};
  const counts = h('ul', {className: 'counts', 'aria-label': 'Workflow runs by status'});
  const tbody = h('tbody');
  const summary = h('p', {className: 'muted', 'aria-live': 'polite'});
  const statusSel = h('select', {id: 'f-status', name: 'status'},
                      h('option', {value: ''}, 'any'),
                      STATUSES.map((st) => h('option', {value: st, selected: st === filter.status}, st)));
  const typeIn = h('input', {id: 'f-type', name: 'type', value: filter.type, spellcheck: 'false'});
  const prefixIn = h('input', {id: 'f-prefix', name: 'prefix', value: filter.prefix, spellcheck: 'false'});
  const form = h('form', {className: 'row', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (statusSel.value) q.set('status', statusSel.value);
    if (typeIn.value.trim()) q.set('type', typeIn.value.trim());
    if (prefixIn.value.trim()) q.set('prefix', prefixIn.value.trim());
    location.hash = '#/workflows' + (q.toString() ? '?' + q : '');
  }},
    h('label', {className: 'field', for: 'f-status'}, 'Status', statusSel),
    h('label', {className: 'field', for: 'f-type'}, 'Type', typeIn),
    h('label', {className: 'field', for: 'f-prefix'}, 'Workflow id prefix', prefixIn),
    h('button', {type: 'submit', className: 'primary'}, 'Filter'));
  append(main, [
    h('h1', {}, 'Workflows'),
    form,
    counts,
    summary,
    h('div', {className: 'table-wrap'}, h('table', {id: 'workflows'},
      h('caption', {className: 'muted', style: 'text-align:left'}, 'Runs, newest first'),
      h('thead', {}, h('tr', {},
        h('th', {scope: 'col'}, 'Workflow id'), h('th', {scope: 'col'}, 'Type'),
        h('th', {scope: 'col'}, 'Status'), h('th', {scope: 'col', className: 'hide-narrow'}, 'Run'),
        h('th', {scope: 'col'}, 'Started'), h('th', {scope: 'col', className: 'hide-narrow'}, 'Closed'),
        h('th', {scope: 'col', className: 'hide-narrow'}, 'Events'),
        h('th', {scope: 'col', className: 'hide-narrow'}, 'Pending activities'))),
      tbody)),
  ]);
  focusMain();

  async function load() {
    /* The id prefix is filtered here (the API has no such filter). */
    const q = new URLSearchParams({page_size: '1000'});
    if (filter.status) q.set('status', filter.status);
    if (filter.type) q.set('type', filter.type);
    let all, more;
    try {
      const page = await api('GET', '/workflows?' + q);
      all = page.workflows;
      more = page.next_page_token != null;
    } catch (e) {
      showStatus('Cannot list workflows: ' + errorText(e), true);
      return;
    }
    showStatus('');
    const shown = all.filter((w) => w.workflow_id.startsWith(filter.prefix));
    const byStatus = {};
    for (const w of shown) byStatus[w.status] = (byStatus[w.status] || 0) + 1;
    counts.replaceChildren(...STATUSES.filter((st) => byStatus[st] || st === filter.status).map((st) =>
      h('li', {}, h('button', {type: 'button', 'aria-pressed': String(st === filter.status),
                               'data-status': st,
                               onclick: () => {
                                 const p = new URLSearchParams(location.hash.split('?')[1] || '');
                                 if (st === filter.status) p.delete('status'); else p.set('status', st);
                                 location.hash = '#/workflows' + (p.toString() ? '?' + p : '');
                               }},
                      st.replace(/_/g, ' ') + ': ', h('span', {className: 'count'}, byStatus[st] || 0)))));
    summary.textContent = `${shown.length} run${shown.length === 1 ? '' : 's'}` +
                          (more ? ` (the newest ${all.length} found)` : '');
    /* Unchanged: leave the rows alone (and the keyboard focus in them). */
    const key = JSON.stringify(shown);
    if (key === lastKey) return;
    lastKey = key;
    const focused = tbody.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
    tbody.replaceChildren(...shown.map((w) => h('tr', {},
      h('td', {className: 'wrap'}, h('a', {href: '#/workflows/' + enc(w.workflow_id) + '?run=' + w.run_id},
                                     w.workflow_id)),
      h('td', {}, w.type), h('td', {}, badge(w.status)),
      h('td', {className: 'mono hide-narrow', title: w.run_id}, shortRun(w.run_id)),
      h('td', {}, when(w.start_time)), h('td', {className: 'hide-narrow'}, when(w.close_time)),
      h('td', {className: 'hide-narrow'}, w.history_length),
      h('td', {className: 'hide-narrow'}, w.pending_activities))));
    if (focused) {
      const again = [...tbody.querySelectorAll('a')].find((a) => a.getAttribute('href') === focused);
      if (again) again.focus();
    }
  }
  let lastKey = '';
  load();
  const timer = setInterval(load, LIST_REFRESH_MS);
  return () => clearInterval(timer);
}

/* ---- Workflow detail ------------------------------------------------------------------ */

/* "…at event 7: history has X, code issued Y" -> {expected, actual}. */
function parseNondet(reason) {
  const m = /history has (.*), code issued (.*)$/.exec(reason || '');
  return m ? {expected: m[1], actual: m[2]} : null;
}

function workflowPage(main, id, params) {
  const ctl = new AbortController();
  const state = {id, run: params.get('run') || '', wf: null, events: [], queryName: '',
                 queryInput: undefined, until: 0, closed: false, timers: []};
  const wfPath = '/workflows/' + enc(id);

  const header = h('div');
  const blocked = h('div');
  const chain = h('div');
  const pending = h('div');
  const queryOut = h('output', {id: 'query-result', className: 'result', 'aria-live': 'polite'});
  const travelOut = h('output', {id: 'travel-result', className: 'result', 'aria-live': 'polite'});
  const historyBody = h('tbody');
  const timeline = h('div', {className: 'timeline', id: 'timeline'});
  const slider = h('input', {type: 'range', id: 'travel', min: 1, max: 1, value: 1, step: 1,
                             'aria-describedby': 'travel-help'});
  const sliderLabel = h('output', {id: 'travel-at', for: 'travel'}, 'event 1');

  append(main, [
    h('p', {}, h('a', {href: '#/workflows'}, '← Workflows')),
    h('h1', {}, 'Workflow ', h('span', {className: 'mono'}, id)),
    header, blocked,
    h('div', {className: 'grid2'},
      h('section', {className: 'panel', 'aria-labelledby': 'h-actions'},
        h('h2', {id: 'h-actions'}, 'Signal and query'), actionsForm()),
      h('section', {className: 'panel', 'aria-labelledby': 'h-chain'},
        h('h2', {id: 'h-chain'}, 'Run chain'), chain)),
    h('section', {className: 'panel', 'aria-labelledby': 'h-pending'},
      h('h2', {id: 'h-pending'}, 'Pending activities'), pending),
    h('section', {className: 'panel', 'aria-labelledby': 'h-travel'},
      h('h2', {id: 'h-travel'}, 'Time travel'),
      h('p', {id: 'travel-help', className: 'muted'},
        'Move the slider to an event: the query above is answered as it was then, by replaying ' +
        'the history up to the end of the workflow task that holds the event. Nothing is recorded.'),
      h('div', {className: 'travel'}, h('label', {for: 'travel'}, 'At'), slider, sliderLabel),
      h('p', {}, 'Query result then: '), travelOut),
    h('section', {className: 'panel', 'aria-labelledby': 'h-timeline'},
      h('h2', {id: 'h-timeline'}, 'Timeline'), legend(), timeline),
    h('section', {className: 'panel', 'aria-labelledby': 'h-history'},
      h('h2', {id: 'h-history'}, 'History'),
      h('div', {className: 'table-wrap'}, h('table', {id: 'history'},
        h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, '#'), h('th', {scope: 'col'}, 'Time'),
                                   h('th', {scope: 'col'}, 'Type'), h('th', {scope: 'col'}, 'Details'))),
        historyBody))),
  ]);
  focusMain();

  /* The names the type declares, as suggestions; a workflow without a
   * remembered query starts with its type's first query filled in. */
  function offerNames(wf) {
    for (const [listId, names] of [['signal-names', wf.signals], ['query-names', wf.queries]]) {
      const list = document.getElementById(listId);
      if (list && Array.isArray(names))
        list.replaceChildren(...names.map((n) => h('option', {value: n})));
    }
    const qName = document.getElementById('query-name');
    if (qName && !qName.value && Array.isArray(wf.queries) && wf.queries.length > 0)
      qName.value = wf.queries[0];
  }

  function actionsForm() {
    const lastQuery = localStorage.getItem('ttai.query.' + id) || '';
    const sigName = h('input', {id: 'signal-name', spellcheck: 'false', required: true,
                                list: 'signal-names'});
    const sigInput = h('textarea', {id: 'signal-input', spellcheck: 'false', placeholder: 'JSON, e.g. 5'});
    const qName = h('input', {id: 'query-name', spellcheck: 'false', required: true, value: lastQuery,
                              list: 'query-names'});
    const qInput = h('textarea', {id: 'query-input', spellcheck: 'false', placeholder: 'JSON (optional)'});
    const parse = (text) => (text.trim() === '' ? undefined : JSON.parse(text));
    const sigForm = h('form', {id: 'signal-form', onsubmit: async (ev) => {
      ev.preventDefault();
      let input;
      try { input = parse(sigInput.value); } catch (e) { showStatus('Signal input is not JSON: ' + e.message, true); return; }
      try {
        const body = input === undefined ? {} : {input};
        const r = await api('POST', wfPath + '/signals/' + enc(sigName.value.trim()), body);
        showStatus(`Signal ${sigName.value.trim()} delivered to run ${shortRun(r.run_id)}`);
      } catch (e) { showStatus('Signal failed: ' + errorText(e), true); }
    }},
      h('datalist', {id: 'signal-names'}),
      h('div', {className: 'row'},
        h('label', {className: 'field', for: 'signal-name'}, 'Signal name', sigName),
        h('label', {className: 'field', for: 'signal-input'}, 'Input', sigInput),
        h('button', {type: 'submit', id: 'signal-send'}, 'Send signal')));
    const qForm = h('form', {id: 'query-form', onsubmit: async (ev) => {
      ev.preventDefault();
      try { state.queryInput = parse(qInput.value); } catch (e) { showStatus('Query input is not JSON: ' + e.message, true); return; }
      state.queryName = qName.value.trim();
      localStorage.setItem('ttai.query.' + id, state.queryName);
      await runQuery();
      travel();
    }},
      h('datalist', {id: 'query-names'}),
      h('div', {className: 'row'},
        h('label', {className: 'field', for: 'query-name'}, 'Query name', qName),
        h('label', {className: 'field', for: 'query-input'}, 'Input', qInput),
        h('button', {type: 'submit', id: 'query-run'}, 'Query')),
      h('p', {className: 'muted'}, 'Result (refreshed as new events arrive):'), queryOut);
    const danger = h('div', {className: 'row', style: 'margin-top:12px'},
      h('button', {type: 'button', className: 'danger', id: 'cancel-btn', onclick: () => confirmClose('cancel')}, 'Cancel…'),
      h('button', {type: 'button', className: 'danger', id: 'terminate-btn', onclick: () => confirmClose('terminate')}, 'Terminate…'));
    return [sigForm, h('hr'), qForm, danger];
  }

  function confirmClose(verb) {
    const reason = h('input', {id: 'close-reason', spellcheck: 'false'});
    const dlg = h('dialog', {'aria-labelledby': 'dlg-title'},
      h('form', {method: 'dialog'},
        h('h2', {id: 'dlg-title'}, `${verb === 'cancel' ? 'Cancel' : 'Terminate'} workflow ${id}?`),
        h('p', {}, verb === 'cancel'
          ? 'The workflow is asked to cancel and may clean up first.'
          : 'The run is closed at once; its code runs no further.'),
        h('label', {className: 'field', for: 'close-reason'}, 'Reason', reason),
        h('div', {className: 'row', style: 'margin-top:12px'},
          h('button', {value: 'no', autofocus: true}, 'Keep it running'),
          h('button', {value: 'yes', className: 'danger', id: 'confirm-' + verb}, verb === 'cancel' ? 'Cancel workflow' : 'Terminate'))));
    document.body.append(dlg);
    dlg.addEventListener('close', async () => {
      dlg.remove();
      if (dlg.returnValue !== 'yes') return;
      try {
        await api('POST', wfPath + '/' + verb, reason.value ? {reason: reason.value} : {});
        showStatus(`Workflow ${verb === 'cancel' ? 'cancel requested' : 'terminated'}`);
        refresh();
      } catch (e) { showStatus(`${verb} failed: ` + errorText(e), true); }
    });
    dlg.showModal();
  }

  async function runQuery() {
    if (!state.queryName) return;
    const body = {};
    if (state.queryInput !== undefined) body.input = state.queryInput;
    if (state.run) body.run_id = state.run;
    try {
      const r = await api('POST', wfPath + '/queries/' + enc(state.queryName), body);
      queryOut.textContent = json(r.result);
    } catch (e) {
      queryOut.textContent = 'error: ' + errorText(e);
    }
  }

  let travelSeq = 0;
  async function travel() {
    const n = Number(slider.value);
    sliderLabel.textContent = `event ${n} of ${state.events.length}` +
      (state.events[n - 1] ? ` (${state.events[n - 1].type})` : '');
    markEvent(n);
    if (!state.queryName) { travelOut.textContent = 'run a query above first'; return; }
    const seq = ++travelSeq;
    const body = {until_event: n, run_id: state.wf ? state.wf.run_id : undefined};
    if (state.queryInput !== undefined) body.input = state.queryInput;
    let text;
    try {
      const r = await api('POST', wfPath + '/queries/' + enc(state.queryName), body);
      text = json(r.result);
    } catch (e) { text = 'error: ' + errorText(e); }
    if (seq === travelSeq) {       /* an older answer must not overwrite a newer one */
      travelOut.textContent = text;
      travelOut.dataset.at = String(n);
    }
  }
  let travelTimer = null;
  slider.addEventListener('input', () => {
    clearTimeout(travelTimer);
    travelTimer = setTimeout(travel, 120);
  });

  function markEvent(n) {
    for (const tr of historyBody.querySelectorAll('tr.current')) tr.classList.remove('current');
    const tr = historyBody.querySelector(`tr[data-event="${n}"]`);
    if (tr) tr.classList.add('current');
    drawTimeline();
  }

  function renderHeader(wf) {
    header.replaceChildren(h('section', {className: 'panel', 'aria-label': 'Status'},
      h('dl', {className: 'facts'},
        h('dt', {}, 'Status'), h('dd', {id: 'wf-status'}, badge(wf.status)),
        h('dt', {}, 'Type'), h('dd', {}, wf.type),
        h('dt', {}, 'Run'), h('dd', {className: 'mono'}, wf.run_id),
        h('dt', {}, 'Started'), h('dd', {}, when(wf.start_time)),
        h('dt', {}, 'Closed'), h('dd', {}, when(wf.close_time)),
        h('dt', {}, 'Events'), h('dd', {id: 'wf-events'}, wf.history_length),
        h('dt', {}, 'Pending'), h('dd', {}, `${wf.pending_activities} activities, ${wf.pending_timers} timers`))));
    blocked.replaceChildren();
    if (wf.blocked) {
      const nd = parseNondet(wf.blocked.reason);
      blocked.append(h('div', {className: 'blocked', role: 'alert', id: 'nondet'},
        h('strong', {}, `Blocked by non-determinism at event ${wf.blocked.event_id}`),
        h('p', {}, 'The run stays open and resumes when code that replays its history is deployed.'),
        nd ? h('dl', {}, h('dt', {}, 'Expected (history)'), h('dd', {className: 'mono'}, nd.expected),
                         h('dt', {}, 'Actual (code)'), h('dd', {className: 'mono'}, nd.actual))
           : h('p', {className: 'mono'}, wf.blocked.reason)));
    }
    const acts = wf.activities || [];
    pending.replaceChildren(acts.length === 0 ? h('p', {className: 'muted'}, 'None.') :
      h('div', {className: 'table-wrap'}, h('table', {id: 'pending'},
        h('thead', {}, h('tr', {}, ['Seq', 'Type', 'State', 'Attempt', 'Scheduled', 'Next attempt', 'Last failure']
          .map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, acts.map((a) => h('tr', {},
          h('td', {}, a.seq), h('td', {}, a.type), h('td', {}, a.state.replace(/_/g, ' ')),
          h('td', {}, a.attempt), h('td', {}, when(a.scheduled_time)),
          h('td', {}, when(a.next_attempt_time)),
          h('td', {className: 'wrap'}, a.last_failure ? `${a.last_failure.type}: ${a.last_failure.message}` : '—')))))));
  }

  async function renderChain(wf) {
    /* The runs of one workflow id: the list by type, filtered here (the
     * API has no id filter), oldest first. */
    let runs = [];
    try {
      runs = (await api('GET', '/workflows?page_size=1000&type=' + enc(wf.type))).workflows
        .filter((w) => w.workflow_id === id);
    } catch (e) { runs = [wf]; }
    runs.sort((a, b) => (a.start_time < b.start_time ? -1 : a.start_time > b.start_time ? 1 : 0));
    chain.replaceChildren(h('ol', {id: 'run-chain'}, runs.map((r) => h('li', {},
      r.run_id === wf.run_id ? h('strong', {'aria-current': 'true'}, shortRun(r.run_id))
                             : h('a', {href: '#/workflows/' + enc(id) + '?run=' + r.run_id, title: r.run_id}, shortRun(r.run_id)),
      ' ', badge(r.status), ' ', when(r.start_time), ` · ${r.history_length} events`))));
  }

  function eventDetails(ev) {
    const parts = [];
    if (ev.seq !== undefined) parts.push('seq ' + ev.seq);
    if (ev.name) parts.push(ev.name);
    if (ev.attempt) parts.push('attempt ' + ev.attempt);
    if (ev.fire_time) parts.push('fires ', when(ev.fire_time));
    if (ev.payload !== undefined) parts.push(h('code', {}, json(ev.payload).slice(0, 300)));
    if (ev.failure_type || ev.failure_message)
      parts.push(h('span', {className: 's-failed'}, `${ev.failure_type || ''}: ${ev.failure_message || ''}`));
    if (ev.run_id) parts.push('run ', h('a', {href: '#/workflows/' + enc(id) + '?run=' + ev.run_id}, shortRun(ev.run_id)));
    const out = [];
    parts.forEach((p, i) => { if (i) out.push(' · '); out.push(p); });
    return out;
  }

  function addEvents(evs) {
    for (const ev of evs) {
      if (state.events.length && ev.event_id <= state.events[state.events.length - 1].event_id) continue;
      state.events.push(ev);
      historyBody.append(h('tr', {'data-event': ev.event_id},
        h('td', {}, ev.event_id), h('td', {}, when(ev.time)), h('td', {}, ev.type),
        h('td', {className: 'wrap'}, eventDetails(ev))));
    }
    const atEnd = Number(slider.value) === Number(slider.max) || Number(slider.max) <= 1;
    slider.max = String(Math.max(1, state.events.length));
    if (atEnd) slider.value = slider.max;
    sliderLabel.textContent = `event ${slider.value} of ${state.events.length}`;
    drawTimeline();
  }

  /* ---- The SVG timeline ---- */
  function spans() {
    const acts = new Map(), timers = new Map(), points = [];
    for (const ev of state.events) {
      const t = Date.parse(ev.time);
      switch (ev.type) {
      case 'ActivityScheduled': acts.set(ev.seq, {kind: 'activity', label: ev.name || 'activity', seq: ev.seq, start: t, end: null, outcome: 'running', attempt: 1, from: ev.event_id}); break;
      case 'ActivityCompleted': case 'ActivityFailed': case 'ActivityTimedOut': case 'ActivityCanceled': {
        const a = acts.get(ev.seq);
        if (a) { a.end = t; a.outcome = ev.type.slice(8).toLowerCase(); a.attempt = ev.attempt || a.attempt; a.to = ev.event_id; a.failure = ev.failure_message; }
        break;
      }
      case 'TimerStarted': timers.set(ev.seq, {kind: 'timer', label: 'timer ' + ev.seq, seq: ev.seq, start: t, end: ev.fire_time ? Date.parse(ev.fire_time) : null, planned: true, outcome: 'pending', from: ev.event_id}); break;
      case 'TimerFired': case 'TimerCanceled': {
        const tm = timers.get(ev.seq);
        if (tm) { tm.end = t; tm.planned = false; tm.outcome = ev.type === 'TimerFired' ? 'fired' : 'canceled'; tm.to = ev.event_id; }
        break;
      }
      case 'SignalReceived': points.push({kind: 'signal', label: 'signal ' + (ev.name || ''), t, id: ev.event_id}); break;
      case 'MarkerRecorded': points.push({kind: 'marker', label: 'marker ' + (ev.name || ev.seq), t, id: ev.event_id}); break;
      case 'CancelRequested': points.push({kind: 'cancel', label: 'cancel requested', t, id: ev.event_id}); break;
      default:
        if (/^Workflow(Completed|Failed|Canceled|Terminated|TimedOut)$|^ContinuedAsNew$/.test(ev.type))
          points.push({kind: 'close', label: ev.type, t, id: ev.event_id});
      }
    }
    return {rows: [...acts.values(), ...timers.values()], points};
  }

  function drawTimeline() {
    const {rows, points} = spans();
    if (state.events.length === 0) { timeline.replaceChildren(); return; }
    const t0 = Date.parse(state.events[0].time);
    let t1 = Date.parse(state.events[state.events.length - 1].time);
    if (!state.closed) t1 = Math.max(t1, Date.now());
    for (const r of rows) if (r.end) t1 = Math.max(t1, r.end);
    const span = Math.max(1, t1 - t0);
    const labelW = 150, width = Math.max(600, timeline.clientWidth || 900), plotW = width - labelW - 20;
    const rowH = 22, top = 24;
    const height = top + (rows.length + 1) * rowH + 24;
    const x = (t) => labelW + ((t - t0) / span) * plotW;
    const svg = s('svg', {width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
                          'aria-label': `Timeline: ${rows.filter((r) => r.kind === 'activity').length} activities, ` +
                                        `${rows.filter((r) => r.kind === 'timer').length} timers, ${points.length} points; ` +
                                        'the history table below lists the same events'});
    svg.append(s('text', {x: labelW, y: 14}, new Date(t0).toLocaleTimeString()));
    svg.append(s('text', {x: labelW + plotW, y: 14, 'text-anchor': 'end'}, new Date(t1).toLocaleTimeString()));
    svg.append(s('line', {x1: labelW, x2: labelW + plotW, y1: 18, y2: 18, stroke: '#d0d7de'}));
    rows.forEach((r, i) => {
      const y = top + i * rowH;
      const end = r.end || (state.closed ? t1 : Date.now());
      const x0 = x(r.start), w = Math.max(4, x(end) - x0);
      const color = COLORS[r.outcome] || '#8c959f';
      const g = s('g', {class: 'span span-' + r.kind, 'data-outcome': r.outcome});
      g.append(s('title', {}, `${r.label} (${r.kind} ${r.seq}): ${r.outcome}` +
                             (r.attempt > 1 ? `, ${r.attempt} attempts` : '') + (r.failure ? ` — ${r.failure}` : '') +
                             `, events ${r.from}${r.to ? '–' + r.to : ''}`));
      g.append(s('text', {x: 4, y: y + 15}, `${r.kind === 'timer' ? '⏱ ' : ''}${r.label}`.slice(0, 22)));
      g.append(s('rect', {x: x0, y: y + 4, width: w, height: rowH - 8, rx: 3, fill: color,
                          'fill-opacity': r.planned ? 0.35 : 0.9, stroke: color}));
      if (r.attempt > 1) {
        g.append(s('circle', {cx: x0 + w, cy: y + 5, r: 8, fill: '#fff', stroke: color}));
        g.append(s('text', {x: x0 + w, y: y + 9, 'text-anchor': 'middle', 'font-weight': 700, class: 'retry-badge'}, String(r.attempt)));
      }
      svg.append(g);
    });
    const py = top + rows.length * rowH;
    svg.append(s('text', {x: 4, y: py + 15}, 'signals, markers'));
    for (const p of points) {
      const g = s('g', {class: 'point point-' + p.kind});
      g.append(s('title', {}, `${p.label} (event ${p.id})`));
      const cx = x(p.t), color = COLORS[p.kind];
      if (p.kind === 'marker') g.append(s('rect', {x: cx - 5, y: py + 6, width: 10, height: 10, fill: color, transform: `rotate(45 ${cx} ${py + 11})`}));
      else g.append(s('circle', {cx, cy: py + 11, r: 6, fill: color}));
      svg.append(g);
    }
    /* The time-travel position. */
    const at = state.events[Number(slider.value) - 1];
    if (at && Number(slider.value) < state.events.length) {
      const ax = x(Date.parse(at.time));
      svg.append(s('line', {x1: ax, x2: ax, y1: 18, y2: height - 6, stroke: '#ffbf47', 'stroke-width': 3, class: 'travel-mark'},
                   s('title', {}, `time travel: event ${at.event_id}`)));
    }
    timeline.replaceChildren(svg);
  }

  function legend() {
    const items = [['completed', 'completed'], ['failed / timed out', 'failed'], ['canceled', 'canceled'],
                   ['running', 'running'], ['timer fired', 'fired'], ['signal', 'signal'], ['marker', 'marker']];
    return h('ul', {className: 'legend', 'aria-label': 'Timeline colours'},
      items.map(([t, k]) => h('li', {}, h('i', {style: 'background:' + COLORS[k]}), t)),
      h('li', {}, 'a number on a span: attempts'));
  }

  /* ---- Loading and following ---- */
  async function loadHistory(runId) {
    let from = 1;
    for (;;) {
      const page = await api('GET', `${wfPath}/history?run_id=${runId}&from_event=${from}&page_size=10000`);
      addEvents(page.events);
      if (page.next_event_id === null) break;
      from = page.next_event_id;
    }
  }

  let refreshTimer = null;
  /* New events: describe again and re-run the query, at most every 250 ms. */
  function refresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      try {
        const wf = await api('GET', wfPath + (state.run ? '?run_id=' + state.run : ''));
        state.wf = wf;
        renderHeader(wf);
      } catch (e) { /* the next refresh tries again */ }
      runQuery();
      if (Number(slider.value) === state.events.length) travel();
    }, 250);
  }

  async function follow(runId) {
    const last = state.events.length ? state.events[state.events.length - 1].event_id : 0;
    try {
      await sse(`${wfPath}/history?follow=1&run_id=${runId}&from_event=${last + 1}`, ctl.signal, (type, ev) => {
        addEvents([ev]);
        refresh();
      });
      state.closed = true;
      drawTimeline();
      refresh();
    } catch (e) {
      if (!ctl.signal.aborted) showStatus('History stream ended: ' + errorText(e), true);
    }
  }

  (async () => {
    try {
      const wf = await api('GET', wfPath + (state.run ? '?run_id=' + state.run : ''));
      state.wf = wf;
      state.closed = wf.status !== 'running';
      renderHeader(wf);
      renderChain(wf);
      offerNames(wf);
      await loadHistory(wf.run_id);
      if (localStorage.getItem('ttai.query.' + id)) {
        state.queryName = localStorage.getItem('ttai.query.' + id);
        runQuery();
        travel();
      }
      if (!state.closed) follow(wf.run_id);
    } catch (e) {
      showStatus('Cannot load workflow: ' + errorText(e), true);
    }
  })();
  const onResize = () => drawTimeline();
  window.addEventListener('resize', onResize);
  return () => {
    ctl.abort();
    clearTimeout(travelTimer);
    clearTimeout(refreshTimer);
    window.removeEventListener('resize', onResize);
  };
}

/* ---- Schedules ----------------------------------------------------------------------------- */

function schedulesPage(main) {
  const tbody = h('tbody');
  append(main, [
    h('h1', {}, 'Schedules'),
    h('div', {className: 'table-wrap'}, h('table', {id: 'schedules'},
      h('thead', {}, h('tr', {}, ['Schedule', 'Cron', 'Workflow type', 'State', 'Next fire', 'Actions']
        .map((t) => h('th', {scope: 'col'}, t)))),
      tbody)),
  ]);
  focusMain();
  async function load() {
    try {
      const list = (await api('GET', '/schedules')).schedules;
      tbody.replaceChildren(...list.map((sc) => h('tr', {},
        h('td', {className: 'wrap'}, h('a', {href: '#/schedules/' + enc(sc.schedule_id)}, sc.schedule_id)),
        h('td', {className: 'mono'}, sc.cron), h('td', {}, sc.workflow_type),
        h('td', {}, sc.paused ? badge('paused') : 'active'), h('td', {}, when(sc.next_fire)),
        h('td', {}, sc.actions))));
      if (list.length === 0) tbody.append(h('tr', {}, h('td', {colspan: 6, className: 'muted'}, 'No schedules in this namespace.')));
    } catch (e) { showStatus('Cannot list schedules: ' + errorText(e), true); }
  }
  load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

/* A fire time in the schedule's own zone, with its UTC offset: where the
 * daylight saving policy shows (a shifted or repeated hour). */
function inZone(iso, zone) {
  try {
    return new Date(iso).toLocaleString('en-GB', {timeZone: zone, weekday: 'short', year: 'numeric', month: 'short',
                                                  day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
                                                  timeZoneName: 'shortOffset'});
  } catch (e) { return iso; }
}

function schedulePage(main, id) {
  const path = '/schedules/' + enc(id);
  const body = h('div');
  append(main, [h('p', {}, h('a', {href: '#/schedules'}, '← Schedules')),
                h('h1', {}, 'Schedule ', h('span', {className: 'mono'}, id)), body]);
  focusMain();
  async function act(verb) {
    try {
      const sc = await api('POST', path + '/' + verb, {});
      showStatus(`Schedule ${verb === 'trigger' ? 'triggered' : verb + 'd'}`);
      render(sc);
    } catch (e) { showStatus(`${verb} failed: ` + errorText(e), true); }
  }
  function render(sc) {
    const d = sc.definition, st = sc.state, spec = d.spec;
    body.replaceChildren(
      h('div', {className: 'row'},
        st.paused ? h('button', {type: 'button', className: 'primary', id: 'unpause', onclick: () => act('unpause')}, 'Unpause')
                  : h('button', {type: 'button', id: 'pause', onclick: () => act('pause')}, 'Pause'),
        h('button', {type: 'button', id: 'trigger', onclick: () => act('trigger')}, 'Trigger now')),
      h('div', {className: 'grid2'},
        h('section', {className: 'panel', 'aria-labelledby': 'h-spec'}, h('h2', {id: 'h-spec'}, 'Spec'),
          h('dl', {className: 'facts', id: 'spec'},
            h('dt', {}, 'Cron'), h('dd', {className: 'mono'}, spec.cron),
            h('dt', {}, 'Time zone'), h('dd', {}, spec.timezone),
            h('dt', {}, 'DST gap'), h('dd', {}, spec.dst_gap,
              h('span', {className: 'muted'}, spec.dst_gap === 'shift' ? ' (a time skipped by the clock change fires at the next valid time)' : ' (a time skipped by the clock change does not fire)')),
            h('dt', {}, 'DST repeat'), h('dd', {}, spec.dst_repeat,
              h('span', {className: 'muted'}, spec.dst_repeat === 'once' ? ' (a repeated hour fires once)' : ' (a repeated hour fires twice)')),
            h('dt', {}, 'Calendar'), h('dd', {}, spec.calendar),
            h('dt', {}, 'Workflow'), h('dd', {}, d.action.workflow_type,
              d.action.input !== undefined ? [' ', h('code', {}, json(d.action.input))] : null),
            h('dt', {}, 'Overlap'), h('dd', {}, d.policies.overlap),
            h('dt', {}, 'Catch-up window'), h('dd', {}, d.policies.catchup_window_s + ' s'))),
        h('section', {className: 'panel', 'aria-labelledby': 'h-state'}, h('h2', {id: 'h-state'}, 'State'),
          h('dl', {className: 'facts'},
            h('dt', {}, 'Paused'), h('dd', {id: 'paused'}, st.paused ? 'yes' : 'no'),
            h('dt', {}, 'Note'), h('dd', {}, st.note || '—'),
            h('dt', {}, 'Actions'), h('dd', {id: 'actions'}, st.actions),
            h('dt', {}, 'Remaining'), h('dd', {}, st.remaining === null ? 'no limit' : st.remaining),
            h('dt', {}, 'Skipped (overlap)'), h('dd', {}, st.skipped_overlap),
            h('dt', {}, 'Missed (catch-up)'), h('dd', {}, st.missed_catchup),
            h('dt', {}, 'Running'), h('dd', {}, st.running.length ? st.running.map((w) =>
              h('a', {href: '#/workflows/' + enc(w)}, w, ' ')) : '—')))),
      h('section', {className: 'panel', 'aria-labelledby': 'h-next'}, h('h2', {id: 'h-next'}, 'Next fire times'),
        sc.next_fires.length === 0 ? h('p', {className: 'muted'}, st.paused ? 'None while paused.' : 'None due.') :
        h('div', {className: 'table-wrap'}, h('table', {id: 'next-fires'},
          h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, '#'), h('th', {scope: 'col'}, 'Your time'),
                                     h('th', {scope: 'col'}, `In ${spec.timezone}`))),
          h('tbody', {}, sc.next_fires.map((f, i) => h('tr', {}, h('td', {}, i + 1), h('td', {}, when(f)),
                                                             h('td', {}, inZone(f, spec.timezone)))))))),
      h('section', {className: 'panel', 'aria-labelledby': 'h-recent'}, h('h2', {id: 'h-recent'}, 'Recent actions'),
        st.recent.length === 0 ? h('p', {className: 'muted'}, 'None yet.') :
        h('div', {className: 'table-wrap'}, h('table', {id: 'recent'},
          h('thead', {}, h('tr', {}, ['Nominal time', 'Actual time', 'Workflow', 'Outcome'].map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', {}, st.recent.slice().reverse().map((r) => h('tr', {},
            h('td', {}, when(r.nominal_time)), h('td', {}, when(r.actual_time)),
            h('td', {className: 'wrap'}, h('a', {href: '#/workflows/' + enc(r.workflow_id)}, r.workflow_id)),
            h('td', {}, r.outcome))))))));
  }
  async function load() {
    try { render(await api('GET', path)); } catch (e) { showStatus('Cannot load schedule: ' + errorText(e), true); }
  }
  load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

/* ---- Alerts ---------------------------------------------------------------------------------- */

function alertsPage(main) {
  const ctl = new AbortController();
  const list = h('ol', {className: 'alerts', id: 'alerts', reversed: true, 'aria-live': 'polite'});
  const state = h('p', {className: 'muted', id: 'alerts-state'}, 'Connecting…');
  append(main, [h('h1', {}, 'Alerts'),
                h('p', {}, 'Alerts delivered to the ', h('code', {}, 'stream'), ' channel in this namespace, newest first, as they happen.'),
                state, list]);
  focusMain();
  function add(a) {
    const sev = a.severity || 'info';
    list.prepend(h('li', {className: 'sev-' + sev},
      h('span', {className: 'badge sev-' + sev}, sev), ' ',
      h('strong', {}, a.title || a.type || 'alert'), a.symbol ? ` · ${a.symbol}` : '', ' · ', when(a.timestamp),
      a.message ? h('p', {}, a.message) : null));
    while (list.children.length > 500) list.lastChild.remove();
  }
  (async () => {
    let lastId = null;
    /* Reconnects after a dropped stream, from the last alert seen. */
    while (!ctl.signal.aborted) {
      try {
        state.textContent = 'Live: connected.';
        await sse('/alerts?follow=1&recent=50', ctl.signal, (type, a, id) => { lastId = id; add(a); },
                  lastId !== null ? {'Last-Event-ID': lastId} : {});
      } catch (e) {
        if (ctl.signal.aborted) return;
        state.textContent = 'Disconnected: ' + errorText(e) + '. Retrying…';
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return () => ctl.abort();
}

/* ---- Start --------------------------------------------------------------------------------------- */

function start() {
  const nsIn = document.getElementById('ns'), tokIn = document.getElementById('token');
  nsIn.value = session.ns;
  tokIn.value = session.token;
  document.getElementById('session').addEventListener('submit', (ev) => {
    ev.preventDefault();
    session.save(nsIn.value.trim(), tokIn.value.trim());
    route();
  });
  window.addEventListener('hashchange', route);
  route();
}

start();
