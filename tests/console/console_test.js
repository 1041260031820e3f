// console_test.js: drives the web console (tools/console) in headless
// Chromium against a ttaid on a free loopback port and a temporary data
// directory.
//
//   node console_test.js TTAID [CHROMIUM]
//
// NODE_PATH must lead to playwright-core (tests/console/npm_ci.sh installs
// it). With TTAI_CONSOLE_SCREENSHOTS=DIR it also saves one screenshot of
// each page there (docs/console/*.png). Every step waits on a condition of
// the page, never on a fixed delay, and any failed step, page error or
// failed request for a console file fails the test.
'use strict';

const {spawn} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {chromium} = require('playwright-core');

const TTAID = process.argv[2];
const CHROMIUM = process.argv[3] || '/usr/bin/chromium';
const SHOTS = process.env.TTAI_CONSOLE_SCREENSHOTS || '';
const TOKEN = 'console-test-token';
const STEP_MS = 30000; // generous: CI machines are shared and ttaid may run under ASan

let passed = 0;
const problems = [];              /* page errors and failed console files, reported at the end */
function ok(what) { passed++; console.log('ok: ' + what); }

/* ---- The daemon ---- */

function startDaemon(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(TTAID, ['--data', path.join(dir, 'data'), '--listen', '127.0.0.1:0',
                                '--token', `${TOKEN}:*`], {stdio: ['ignore', 'ignore', 'pipe']});
    let log = '';
    const timer = setTimeout(() => reject(new Error('ttaid did not start:\n' + log)), 20000);
    child.stderr.on('data', (d) => {
      log += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m && !child.port) {
        child.port = Number(m[1]);
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`ttaid exited (${code}):\n${log}`)));
  });
}

function stopDaemon(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function call(base, method, p, body) {
  const res = await fetch(base + '/api/v1/namespaces/default' + p, {
    method, headers: {Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function seed(base) {
  await call(base, 'POST', '/workflows', {type: 'counter', id: 'orders-counter', input: {every: 100}});
  // One signal per workflow task, so that the history has a total per step.
  for (const n of [2, 3]) {
    await call(base, 'POST', '/workflows/orders-counter/signals/add', {input: n});
    await waitApi(base, '/workflows/orders-counter/queries/value', (r) => r.result >= n);
  }
  await call(base, 'POST', '/workflows', {type: 'hello', id: 'greeting', input: 'console'});
  await call(base, 'POST', '/workflows', {type: 'counter', id: 'scratch', input: {every: 100}});
  await call(base, 'POST', '/schedules', {
    schedule_id: 'market-open',
    spec: {cron: '35 9 * * 1-5', timezone: 'America/New_York', calendar: 'XNYS'},
    action: {workflow_type: 'hello', input: 'market'}});
  await call(base, 'POST', '/workflows', {type: 'AlertRouter', id: 'alert-router'});
  await sendAlert(base, 'AAPL', 'AAPL crossed above 150.00', 'critical');
}

async function sendAlert(base, symbol, message, severity) {
  await call(base, 'POST', '/workflows/alert-router/signals/route', {input: [{
    type: 'price', severity, symbol, message, timestamp_ms: Date.now(), channels: ['stream']}]});
}

async function waitApi(base, p, cond) {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const r = await call(base, 'POST', p, {});
    if (cond(r)) return r;
    if (Date.now() > deadline) throw new Error(`${p}: condition not met: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/* ---- Page helpers ---- */

async function waitText(page, selector, want, what) {
  try {
    await page.waitForFunction(([sel, w]) => {
      const el = document.querySelector(sel);
      return el !== null && el.textContent.trim() === w;
    }, [selector, want], {timeout: STEP_MS});
  } catch (e) {
    const got = await page.evaluate((sel) => {
      const el = document.querySelector(sel);
      return el ? el.textContent.trim() : '(no element)';
    }, selector);
    throw new Error(`${what}: ${selector} shows '${got}', want '${want}'; status bar: '${await statusBar(page)}'`);
  }
  ok(what);
}

async function waitCount(page, selector, cond, what) {
  try {
    await page.waitForFunction(([sel, c]) => new Function('n', 'return ' + c)(document.querySelectorAll(sel).length),
                               [selector, cond], {timeout: STEP_MS});
  } catch (e) {
    const n = await page.evaluate((sel) => document.querySelectorAll(sel).length, selector);
    throw new Error(`${what}: ${n} of ${selector}, want ${cond}; status bar: '${await statusBar(page)}'`);
  }
  ok(what);
}

function statusBar(page) {
  return page.evaluate(() => document.getElementById('status').textContent).catch(() => '?');
}

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, {recursive: true});
  await page.screenshot({path: path.join(SHOTS, name + '.png'), fullPage: true});
}

/* Tabs until the focused element's text is `text`; false after `max` tabs. */
async function tabTo(page, text, max) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const t = await page.evaluate(() => (document.activeElement ? document.activeElement.textContent.trim() : ''));
    if (t === text) return true;
  }
  return false;
}

/* ---- The scenario ---- */

async function scenario(base, browser) {
  const context = await browser.newContext({viewport: {width: 1280, height: 900},
                                            timezoneId: 'Europe/Paris', locale: 'en-GB'});
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (r) => {
    if (r.url().includes('/console/') && r.status() >= 400) problems.push(`${r.url()}: ${r.status()}`);
  });

  // The list: refused without a token, then loaded with the one typed in.
  await page.goto(base + '/');
  await page.waitForFunction(() => /unauthorized|missing bearer token/.test(document.getElementById('status').textContent),
                             null, {timeout: STEP_MS});
  ok('without a token the page says the API refused it');
  await page.fill('#token', TOKEN);
  await page.click('#session button[type=submit]');
  await waitCount(page, '#workflows a[href^="#/workflows/orders-counter"]', 'n === 1', 'the list shows orders-counter');
  await waitCount(page, '.counts button[data-status="running"]', 'n === 1', 'live counts show running runs');
  const running = Number(await page.textContent('.counts button[data-status="running"] .count'));
  if (running < 3) throw new Error(`running count ${running}, want at least 3`);
  ok('running count ' + running);
  // Filters: by id prefix.
  await page.fill('#f-prefix', 'greet');
  await page.press('#f-prefix', 'Enter');
  await waitCount(page, '#workflows tbody tr', 'n === 1', 'the id prefix filter leaves one run');
  await page.fill('#f-prefix', '');
  await page.press('#f-prefix', 'Enter');
  await waitCount(page, '#workflows tbody tr', 'n >= 4', 'the filter cleared');
  await shot(page, 'list');

  // Keyboard: tab to the workflow's link and open it with Enter.
  await page.focus('#f-prefix');
  if (!(await tabTo(page, 'orders-counter', 60))) throw new Error('cannot reach the orders-counter link with Tab');
  await page.keyboard.press('Enter');
  await waitText(page, 'main h1', 'Workflow orders-counter', 'Enter on the link opens the workflow');
  await waitText(page, '#wf-status', 'running', 'the detail shows its status');

  // The type's declared names are offered, and its first query is filled in.
  await waitCount(page, '#query-names option[value="value"]', 'n === 1', 'the type\'s queries are offered');
  await waitCount(page, '#signal-names option[value="add"]', 'n === 1', 'the type\'s signals are offered');
  const prefilled = await page.inputValue('#query-name');
  if (prefilled !== 'value') throw new Error(`query name prefilled with '${prefilled}', not 'value'`);

  // Query, then a signal sent from the page changes the result.
  await page.fill('#query-name', 'value');
  await page.click('#query-run');
  await waitText(page, '#query-result', '5', 'the query answers the total');
  await page.fill('#signal-name', 'add');
  await page.fill('#signal-input', '10');
  await page.click('#signal-send');
  await waitText(page, '#query-result', '15', 'a signal from the page changes the query result');
  await waitCount(page, '#history tbody tr', 'n >= 8', 'the history follows new events live');
  await waitCount(page, '#timeline svg .point-signal', 'n === 3', 'the timeline shows the three signals');

  // Time travel: Home goes to event 1, where the total was 0.
  await page.focus('#travel');
  await page.keyboard.press('Home');
  await waitText(page, '#travel-result', '0', 'time travel to event 1 shows the earlier total');
  // The first TaskCompleted after the first signal: the total was 2.
  const ids = await page.$$eval('#history tbody tr', (rows) => rows.map((r) => [Number(r.dataset.event), r.children[2].textContent]));
  const firstSignal = ids.find(([, t]) => t === 'SignalReceived')[0];
  for (let i = 1; i < firstSignal; i++) await page.keyboard.press('ArrowRight');
  await waitText(page, '#travel-result', '2', `time travel to event ${firstSignal} shows the total 2`);
  await waitCount(page, '#history tbody tr.current', 'n === 1', 'the event is marked in the table');
  await shot(page, 'workflow');
  await page.keyboard.press('End');
  await waitText(page, '#travel-result', '15', 'the end of the history shows the current total');

  // Terminate asks first; "keep it running" keeps it.
  await page.goto(base + '/#/workflows/scratch');
  await waitText(page, '#wf-status', 'running', 'scratch is running');
  await page.click('#terminate-btn');
  await page.click('dialog button[value=no]');
  await waitCount(page, 'dialog', 'n === 0', 'the confirmation closes');
  const still = await call(base, 'GET', '/workflows/scratch');
  if (still.status !== 'running') throw new Error('terminated without confirmation');
  ok('nothing happens without confirmation');
  await page.click('#terminate-btn');
  await page.fill('#close-reason', 'console test');
  await page.click('#confirm-terminate');
  await waitText(page, '#wf-status', 'terminated', 'terminate with confirmation closes the run');

  // Schedules: the list, then one schedule's next fire times.
  await page.goto(base + '/#/schedules');
  await waitCount(page, '#schedules a[href="#/schedules/market-open"]', 'n === 1', 'the schedule list shows market-open');
  await shot(page, 'schedules');
  await page.click('#schedules a[href="#/schedules/market-open"]');
  await waitCount(page, '#next-fires tbody tr', 'n === 10', 'the schedule shows its next 10 fire times');
  const zoned = await page.$$eval('#next-fires tbody tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent));
  if (!zoned.every((t) => t.includes('09:35'))) throw new Error('fire times in New York are not 09:35: ' + zoned.join(' | '));
  ok('every fire time is 09:35 in the schedule zone');
  const title = await page.getAttribute('#next-fires tbody tr time', 'title');
  if (!/^UTC \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(title || '')) throw new Error('no UTC time on hover: ' + title);
  ok('times show UTC on hover');
  await waitText(page, '#spec dd:nth-of-type(3)', 'shift (a time skipped by the clock change fires at the next valid time)',
                 'the DST policy is visible');
  await page.click('#pause');
  await waitText(page, '#paused', 'yes', 'pause from the page');
  await page.click('#trigger');
  await waitText(page, '#actions', '1', 'trigger from the page');
  await page.click('#unpause');
  await waitText(page, '#paused', 'no', 'unpause from the page');
  await shot(page, 'schedule');

  // The alert stream: the recent alert at once, a new one live.
  await page.goto(base + '/#/alerts');
  await waitCount(page, '#alerts li', 'n === 1', 'the alert page shows the recent alert');
  await sendAlert(base, 'NVDA', 'NVDA fell 5% today', 'warning');
  await waitCount(page, '#alerts li', 'n === 2', 'a new alert arrives live');
  const first = await page.textContent('#alerts li:first-child');
  if (!first.includes('NVDA')) throw new Error('the newest alert is not first: ' + first);
  ok('newest alert first');
  await shot(page, 'alerts');

  // A phone-width screen: nothing wider than the screen but the tables' own scroll.
  await page.setViewportSize({width: 390, height: 844});
  await page.goto(base + '/#/workflows');
  await waitCount(page, '#workflows tbody tr', 'n >= 4', 'the list at phone width');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) throw new Error(`the page is ${overflow}px wider than a phone screen`);
  ok('no horizontal overflow at 390 px');
  await shot(page, 'list-phone');
  await page.goto(base + '/#/workflows/orders-counter');
  await waitText(page, '#wf-status', 'running', 'the detail at phone width');
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow2 > 1) throw new Error(`the detail page is ${overflow2}px wider than a phone screen`);
  ok('no horizontal overflow on the detail at 390 px');

  // Assets: 404 for an unknown file, 304 on revalidation.
  const miss = await fetch(base + '/console/nothing.js');
  if (miss.status !== 404) throw new Error('unknown asset: ' + miss.status);
  const js = await fetch(base + '/console/console.js');
  const again = await fetch(base + '/console/console.js', {headers: {'If-None-Match': js.headers.get('etag')}});
  if (js.headers.get('content-type') !== 'text/javascript; charset=utf-8' || again.status !== 304)
    throw new Error(`assets: ${js.headers.get('content-type')}, revalidation ${again.status}`);
  ok('assets: content type, ETag revalidation, 404');

  if (problems.length) throw new Error(problems.join('\n'));
  await context.close();
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttai-console-'));
  let daemon = null, browser = null, failed = false;
  try {
    daemon = await startDaemon(dir);
    const base = `http://127.0.0.1:${daemon.port}`;
    await seed(base);
    browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
                                     args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
    await scenario(base, browser);
  } catch (e) {
    failed = true;
    console.error('FAIL: ' + (e.stack || e.message));
    for (const p of problems) console.error('  ' + p);
  } finally {
    if (browser) await browser.close();
    if (daemon) {
      const code = await stopDaemon(daemon);
      if (code !== 0) { failed = true; console.error(`FAIL: ttaid exited ${code}`); }
    }
    fs.rmSync(dir, {recursive: true, force: true});
  }
  console.log(`${passed} passed, ${failed ? 1 : 0} failed`);
  process.exit(failed ? 1 : 0);
}

main();
