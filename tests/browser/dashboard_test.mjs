// The dashboard (GET / of `conveyor work`) in Debian's headless Chromium, driven by puppeteer-core
// (tools/browser), against real peers: redis-server, the partner simulator and a worker, each on a
// free 127.0.0.1 port. Some messages are refused by the partner (400) and dead-lettered, so the
// dead-letter table and its buttons have something to act on. Every wait is on a condition with a
// deadline; every child is killed at the end.
//
//   node dashboard_test.mjs --conveyor build/conveyor --redis-server /usr/bin/redis-server
//        [--chromium /usr/bin/chromium] [--screenshot build/dashboard.png]
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {after, before, test} from 'node:test';
import {parseArgs} from 'node:util';

const {values: args} = parseArgs({options: {
  'conveyor': {type: 'string'},
  'redis-server': {type: 'string', default: 'redis-server'},
  'chromium': {type: 'string', default: '/usr/bin/chromium'},
  'screenshot': {type: 'string', default: 'dashboard.png'},
}});
assert.ok(args.conveyor, '--conveyor <path to the conveyor binary> is required');
// The children run in a scratch folder, so relative paths are taken from where the test started.
for (const key of ['conveyor', 'screenshot']) args[key] = path.resolve(args[key]);

const require = createRequire(new URL('../../tools/browser/package.json', import.meta.url));
let puppeteer;
try {
  puppeteer = require('puppeteer-core');
} catch (error) {
  throw new Error(`puppeteer-core is not installed in tools/browser: run scripts/install-deps (${error.message})`);
}

const TOKEN = 'dashboard-test-token';
const DELIVERABLE = 36;
const REFUSED = 4;  // {"status":400}: dead-lettered at once (400 is not retried)
const HOSTILE = '<img src=x onerror=window.__injected=1>';  // a dead letter's body must show as text

// --- Children: spawned in a scratch folder, their output kept, all killed at the end. ---
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-dashboard-'));
const children = [];

function start(name, command, argv, env = {}) {
  const child = spawn(command, argv, {cwd: scratch, env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'pipe']});
  const record = {name, child, output: '', exited: null};
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (text) => { record.output += text; });
  }
  child.on('exit', (code, signal) => { record.exited = signal ?? code; });
  child.on('error', (error) => { record.output += `\nspawn failed: ${error.message}`; record.exited = 'error'; });
  children.push(record);
  return record;
}

function killAll() {
  for (const {child, exited} of children) {
    if (exited === null) child.kill('SIGKILL');
  }
}
process.on('exit', killAll);

async function stop(record, timeoutMs = 10_000) {
  if (record.exited !== null) return;
  record.child.kill('SIGTERM');
  await until(() => record.exited !== null, `${record.name} to exit after SIGTERM`, timeoutMs).catch(() => {
    record.child.kill('SIGKILL');
  });
}

// Waits for `check` (sync or async) to return a truthy value, polling every 100 ms until the deadline.
async function until(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// The first match of `pattern` in a child's output; fails at once if the child exits first.
async function outputLine(record, pattern, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = record.output.match(pattern);
    if (match) return match;
    if (record.exited !== null) {
      throw new Error(`${record.name} exited (${record.exited}) before ${what}:\n${record.output}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${record.output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

// --- The run shared by the steps below. ---
let admin;    // http://127.0.0.1:PORT of the worker's admin listener
let worker;
let startWorker;  // (admin listen address) => [child, its admin port]
let browser;
let page;
const consoleErrors = [];

async function status() {
  const response = await fetch(`${admin}/api/status`, {signal: AbortSignal.timeout(5000)});
  assert.equal(response.status, 200, `GET /api/status answered ${response.status}`);
  return response.json();
}

const sum = (shards, state) => shards.reduce((total, shard) => total + shard[state], 0);

// The queue as the worker's sampler last read it: nothing waiting, leased or delayed, `dead` dead letters.
function settled(s, dead) {
  return s.in_flight === 0 && sum(s.shards, 'waiting') === 0 && sum(s.shards, 'in_flight') === 0 &&
    sum(s.shards, 'delayed') === 0 && sum(s.shards, 'dead') === dead;
}

before(async () => {
  const redisPort = await freePort();
  const redis = start('redis-server', args['redis-server'],
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await outputLine(redis, /Ready to accept connections/, 'redis-server to start');
  const redisUrl = `redis://127.0.0.1:${redisPort}/0`;

  const partner = start('partner', args.conveyor,
    ['partner', '--listen', '127.0.0.1:0', '--delay', '5ms', '--status-field', 'status']);
  const [, partnerAddress] = await outputLine(partner, /listening on (\S+)/, 'the partner to listen');

  const publish = start('publish', args.conveyor,
    ['publish', '--channel', 'shipments', '--redis-url', redisUrl, '--input', '-']);
  const lines = [];
  for (let i = 1; i <= DELIVERABLE + REFUSED; ++i) {
    const refused = i % 10 === 0;
    lines.push(JSON.stringify(refused ? {i, status: 400, note: HOSTILE} : {i, m: 'Your shipment is on its way'}));
  }
  publish.child.stdin.end(`${lines.join('\n')}\n`);
  await until(() => publish.exited !== null, 'conveyor publish to finish');
  assert.equal(publish.exited, 0, `conveyor publish failed:\n${publish.output}`);

  startWorker = async (listen) => {
    const child = start(`worker on ${listen}`, args.conveyor, [
      'work', '--channel', 'shipments', '--redis-url', redisUrl, '--target-url', `http://${partnerAddress}/shipments`,
      '--admin-listen', listen, '--concurrency', '8', '--circuit-failures', '0',
    ], {ADMIN_TOKEN: TOKEN});
    const [, port] = await outputLine(child, /admin http:\/\/[\d.]+:(\d+)/, 'the admin listener line');
    return [child, port];
  };
  let port;
  [worker, port] = await startWorker('127.0.0.1:0');
  admin = `http://127.0.0.1:${port}`;

  await until(async () => {
    const s = await status();
    return s.messages.delivered === DELIVERABLE && s.messages.dead_lettered === REFUSED && settled(s, REFUSED);
  }, 'the worker to drain the queue', 60_000);

  const noSandbox = process.getuid?.() === 0 ? ['--no-sandbox'] : [];  // Chromium's sandbox refuses root
  browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    userDataDir: fs.mkdtempSync(path.join(scratch, 'chromium-')),
    args: [...noSandbox, '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
    timeout: 30_000,
  });
  page = await browser.newPage();
  await page.setViewport({width: 1280, height: 800});
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => consoleErrors.push(`request failed: ${request.url()}`));
});

after(async () => {
  if (browser) await browser.close().catch(() => browser.process()?.kill('SIGKILL'));
  for (const record of [...children].reverse()) await stop(record);
  killAll();
  fs.rmSync(scratch, {recursive: true, force: true});
});

// The figures the page shows, as text, by element id.
function shown() {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)]
      .map((tr) => [...tr.cells].map((td) => td.textContent.trim()));
    return {
      delivered: text('delivered'), retried: text('retried'), deadLettered: text('dead-lettered'),
      released: text('released'), rate: text('rate'), inFlight: text('in-flight'),
      p50: text('latency-p50'), p99: text('latency-p99'), connections: text('partner-connections'),
      dlqCount: text('dlq-count'), circuit: text('circuit'), ready: text('ready'),
      shards: rows('shards'), errors: rows('errors'), deadLetters: rows('dead-letters'), routes: rows('routes'),
    };
  });
}

// What the page should show for status `s`, formatted as it formats.
function expected(s) {
  const integer = (n) => n.toLocaleString('en-US', {maximumFractionDigits: 0});
  const decimal = (n) => n.toLocaleString('en-US', {minimumFractionDigits: 1, maximumFractionDigits: 1});
  const millis = (n) => (n < 100 ? decimal(n) : integer(n));
  return {
    delivered: integer(s.messages.delivered), retried: integer(s.messages.retried),
    deadLettered: integer(s.messages.dead_lettered), released: integer(s.messages.released),
    rate: decimal(s.rate_per_second), inFlight: integer(s.in_flight),
    p50: millis(s.latency_ms.p50), p99: millis(s.latency_ms.p99), connections: integer(s.partner_connections),
    dlqCount: integer(sum(s.shards, 'dead')), circuit: s.circuit_open ? 'circuit open' : 'circuit closed',
    ready: s.ready ? 'ready' : `not ready: ${s.ready_reason}`,
    shards: s.shards.map((x) => [x.shard, ...['waiting', 'in_flight', 'delayed', 'dead'].map((k) => integer(x[k]))]),
    errors: Object.entries(s.partner_requests).filter(([result, n]) => result !== '2xx' && n > 0)
      .sort((a, b) => b[1] - a[1]).map(([result, n]) => [result, integer(n)]),
    deadLetters: s.dead_letters.map((d) => [d.dead_at, d.shard ?? '', d.reason]),  // a row may lack its shard
    routes: s.routes.map((r) => [
      r.name, integer(r.delivered), `${integer(r.in_flight)} / ${r.limit == null ? '–' : integer(r.limit)}`,
      r.rate_limit_per_second > 0 ? `${decimal(r.rate_limit_per_second)}/s` : '–', r.paused ? 'paused' : 'no',
      r.circuit_open ? 'open' : 'closed', integer(r.parked), integer(r.dead_lettered),
    ]),
  };
}

// The page and a status fetched by the test agree (the page polls every second, so a figure that
// moves, such as the recent rate decaying to 0, is waited for; on an idle worker all settle).
async function pageMatchesStatus(timeoutMs = 20_000) {
  let last;
  try {
    await until(async () => {
      const want = expected(await status());
      const got = await shown();
      got.deadLetters = got.deadLetters.map((row) => row.slice(0, 3));
      last = {want, got};
      assert.deepEqual(got, want);
      return true;
    }, 'the page to show what /api/status says', timeoutMs);
  } catch (error) {
    throw new Error(`${error.message}\nlast comparison: ${JSON.stringify(last, null, 1)}`);
  }
}

function takeConsoleErrors() {
  return consoleErrors.splice(0, consoleErrors.length);
}

async function messageAfterClick(selector) {
  await page.$eval('#message', (el) => { el.textContent = ''; });
  await page.click(selector);
  return until(() => page.$eval('#message', (el) => {
    const text = el.textContent;
    return text && text !== 'working…' ? text : null;
  }), `#message after clicking ${selector}`, 10_000);
}

test('the dashboard of a real worker', {timeout: 150_000}, async (t) => {
  await t.test('GET / serves the page with its assets', async () => {
    const index = await fetch(`${admin}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^text\/html/);
    const uplot = await fetch(`${admin}/vendor/uPlot.iife.min.js`);
    assert.equal(uplot.status, 200);
    assert.match(uplot.headers.get('content-type'), /javascript/);
  });

  await t.test('it renders without console errors', async () => {
    const response = await page.goto(`${admin}/`, {waitUntil: 'load', timeout: 15_000});
    assert.equal(response.status(), 200);
    await page.waitForFunction(() => document.getElementById('delivered').textContent !== '–', {timeout: 10_000});
    await page.waitForFunction(() => document.querySelectorAll('.uplot').length === 3, {timeout: 10_000});
    assert.deepEqual(takeConsoleErrors(), []);
  });

  await t.test('on the drained, idle worker the numbers shown match /api/status', async () => {
    await pageMatchesStatus();
    const s = await status();
    assert.equal(s.messages.delivered, DELIVERABLE);
    assert.equal(s.dead_letters.length, REFUSED);
    // One route (TARGET_URL: "default", no limits of its own), its figures in the Routes table.
    const routes = await page.$$eval('#routes tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    assert.deepEqual(routes, [['default', DELIVERABLE.toLocaleString('en-US'), '0 / –', '–', 'no', 'closed', '0',
      REFUSED.toLocaleString('en-US')]]);
    // Untrusted text is shown as text: the body's markup is visible and never ran.
    const bodies = await page.$$eval('#dead-letters tbody tr td:last-child', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(bodies, s.dead_letters.map((d) => d.body));
    assert.ok(bodies.every((body) => body.includes(HOSTILE)), JSON.stringify(bodies));
    assert.equal(await page.evaluate(() => window.__injected), undefined);
    assert.equal(await page.$('#dead-letters img'), null);
    assert.deepEqual(takeConsoleErrors(), []);
  });

  await t.test('requeue without the token is refused and the dead letters stay', async () => {
    assert.equal(await page.$eval('#token', (el) => el.value), '');
    const message = await messageAfterClick('#requeue');
    assert.match(message, /^Refused \(401\)/);
    // The browser logs the refused request itself; nothing else may have gone wrong.
    const errors = takeConsoleErrors();
    assert.ok(errors.every((e) => /status of 401/.test(e)), JSON.stringify(errors));
    const s = await status();
    assert.equal(sum(s.shards, 'dead'), REFUSED);
    assert.equal(s.dead_letters.length, REFUSED);
    assert.equal(s.messages.dead_lettered, REFUSED);
  });

  await t.test('with the token the requeue works: the dead letters go back and are dead-lettered again', async () => {
    await page.type('#token', TOKEN);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('conveyor-admin-token')), TOKEN);
    const message = await messageAfterClick('#requeue');
    assert.equal(message, `Requeued ${REFUSED} dead letters.`);
    // The partner refuses them again, so each is sent once more and dead-lettered once more.
    await until(async () => {
      const s = await status();
      return s.messages.dead_lettered === 2 * REFUSED && s.partner_requests['4xx'] === 2 * REFUSED &&
        s.messages.delivered === DELIVERABLE && settled(s, REFUSED);
    }, 'the requeued messages to be worked again', 30_000);
    await pageMatchesStatus();
    await page.screenshot({path: args.screenshot});
    assert.deepEqual(takeConsoleErrors(), []);
  });

  await t.test('purge asks first, and with the token deletes the dead letters', async () => {
    page.once('dialog', (dialog) => dialog.dismiss());
    await page.$eval('#message', (el) => { el.textContent = 'unchanged'; });
    await page.click('#purge');
    assert.equal(await page.$eval('#message', (el) => el.textContent), 'unchanged');
    assert.equal(sum((await status()).shards, 'dead'), REFUSED);

    page.once('dialog', (dialog) => dialog.accept());
    assert.equal(await messageAfterClick('#purge'), `Purged ${REFUSED} dead letters.`);
    await until(async () => settled(await status(), 0), 'the dead letters to be gone', 15_000);
    await pageMatchesStatus();
    assert.deepEqual(takeConsoleErrors(), []);
  });

  await t.test('off loopback the browser asks for the token before the page loads, then it shows the status', async () => {
    // A second worker whose admin listener is on every address: the dashboard and /api/status need
    // the token there. The test still talks to it over 127.0.0.1.
    const [, port] = await startWorker('0.0.0.0:0');
    const other = await browser.newPage();  // another origin: an empty sessionStorage, no token
    const refused = await fetch(`http://127.0.0.1:${port}/`);  // what the browser is challenged with
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic /);
    const errors = [];
    other.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    other.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
    await other.authenticate({username: 'operator', password: TOKEN});
    const response = await other.goto(`http://127.0.0.1:${port}/`, {waitUntil: 'load', timeout: 15_000});
    assert.equal(response.status(), 200);
    // The browser sends the same credentials with the page's own requests; should it not, the
    // page asks for the token in its field, as it does for any 401.
    if (await other.$eval('#auth-needed', (el) => !el.hidden)) await other.type('#token', TOKEN);
    await other.waitForFunction(() => document.getElementById('delivered').textContent === '0', {timeout: 10_000});
    assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
    await other.close();
  });

  assert.ok(worker.exited === null, `the worker exited early:\n${worker.output}`);
});
