// The dashboard of `conveyor work`: polls GET api/status (same origin) every second and shows it;
// the dead-letter buttons POST api/dlq/requeue and api/dlq/purge with the admin token.
// Everything from the server (dead-letter bodies, partner answers, shard names) is untrusted text:
// it reaches the page only through textContent and attributes, never as HTML.
'use strict';

(() => {
  const POLL_MS = 1000;
  const REQUEST_TIMEOUT_MS = 5000;
  const WINDOW_SECONDS = 300;  // the charts' span
  const TOKEN_KEY = 'conveyor-admin-token';
  const SHOWN_CHARS = 160;      // of a dead letter's body or response; the rest is in its tooltip

  const $ = (id) => document.getElementById(id);
  const integer = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0});
  const decimal = new Intl.NumberFormat('en-US', {minimumFractionDigits: 1, maximumFractionDigits: 1});
  const millis = (ms) => (ms < 100 ? decimal : integer).format(ms);  // 4.2, 1,002

  // --- The admin token: one field, kept for this tab only. ---
  const tokenField = $('token');
  tokenField.value = sessionStorage.getItem(TOKEN_KEY) || '';
  tokenField.addEventListener('input', () => sessionStorage.setItem(TOKEN_KEY, tokenField.value));
  $('actions').addEventListener('submit', (event) => event.preventDefault());

  function authHeaders() {
    const token = tokenField.value.trim();
    return token ? {Authorization: `Bearer ${token}`} : {};
  }

  async function request(method, path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const headers = authHeaders();
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      return await fetch(path, {
        method, headers, cache: 'no-store', signal: controller.signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } finally {
      clearTimeout(timer);
    }
  }

  // The server's reason for a refusal: its JSON "error" field, or its text.
  async function refusal(response) {
    const text = await response.text();
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed.error === 'string') return parsed.error;
    } catch (_) { /* not JSON: show the text */ }
    return text.trim() || response.statusText;
  }

  // --- Small DOM helpers: text only. ---
  function setText(id, text) { $(id).textContent = text; }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // A long text cut to SHOWN_CHARS, the whole of it in the tooltip.
  function clippedCell(text) {
    const value = text == null ? '' : String(text);
    const td = cell(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value, 'clip');
    td.title = value;
    return td;
  }

  function fillTable(id, rows) {
    const tbody = $(id).tBodies[0];
    tbody.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement('tr');
      tr.append(...cells);
      return tr;
    }));
  }

  function badge(id, text, state) {
    const el = $(id);
    el.textContent = text;
    el.className = `badge ${state}`;
  }

  // --- Charts: the last WINDOW_SECONDS of samples, one point per poll. ---
  const series = {time: [], rate: [], p50: [], p99: [], inFlight: []};
  let previous = null;  // {time, delivered} of the last sample, for delivered per second

  function makeChart(id, lines) {
    const el = $(id);
    return new uPlot({
      width: Math.max(el.clientWidth, 200), height: 180,
      legend: {live: false},
      cursor: {drag: {x: false, y: false}},
      scales: {x: {time: true}, y: {range: (u, min, max) => [0, Math.max(1, max)]}},
      axes: [{}, {size: 60}],
      series: [{}, ...lines.map(([label, stroke]) => ({label, stroke, width: 2, points: {show: false}}))],
    }, [[], ...lines.map(() => [])], el);
  }

  const charts = [
    {chart: makeChart('chart-rate', [['delivered/s', '#2a7ae2']]), data: () => [series.rate]},
    {chart: makeChart('chart-latency', [['p50', '#2e9e5b'], ['p99', '#d9822b']]),
     data: () => [series.p50, series.p99]},
    {chart: makeChart('chart-in-flight', [['in flight', '#7a4fd1']]), data: () => [series.inFlight]},
  ];

  function resizeCharts() {
    for (const {chart} of charts) {
      chart.setSize({width: Math.max(chart.root.parentElement.clientWidth, 200), height: 180});
    }
  }
  window.addEventListener('resize', resizeCharts);

  function record(status) {
    const now = Date.now() / 1000;
    const delivered = status.messages.delivered;
    let rate = null;  // a gap until there are two samples
    if (previous && now > previous.time && delivered >= previous.delivered) {
      rate = (delivered - previous.delivered) / (now - previous.time);
    }
    previous = {time: now, delivered};
    series.time.push(now);
    series.rate.push(rate);
    series.p50.push(status.latency_ms.p50);
    series.p99.push(status.latency_ms.p99);
    series.inFlight.push(status.in_flight);
    while (series.time.length && series.time[0] < now - WINDOW_SECONDS) {
      for (const values of Object.values(series)) values.shift();
    }
    for (const {chart, data} of charts) chart.setData([series.time, ...data()]);
  }

  // --- Rendering one status. ---
  function render(status) {
    setText('version', `${status.version} (${String(status.commit).slice(0, 12)})`);
    setText('queue', status.queue);
    badge('ready', status.ready ? 'ready' : `not ready: ${status.ready_reason}`, status.ready ? 'good' : 'bad');
    badge('circuit', status.circuit_open ? 'circuit open' : 'circuit closed', status.circuit_open ? 'bad' : 'good');

    const m = status.messages;
    setText('delivered', integer.format(m.delivered));
    setText('retried', integer.format(m.retried));
    setText('dead-lettered', integer.format(m.dead_lettered));
    setText('released', integer.format(m.released));
    setText('rate', decimal.format(status.rate_per_second));
    setText('in-flight', integer.format(status.in_flight));
    setText('latency-p50', millis(status.latency_ms.p50));
    setText('latency-p99', millis(status.latency_ms.p99));
    setText('partner-connections', integer.format(status.partner_connections));

    // In flight against the route's concurrency limit in this worker (none: no limit).
    fillTable('routes', status.routes.map((r) => [
      cell(r.name),
      cell(integer.format(r.delivered), 'num'),
      cell(r.limit == null ? `${integer.format(r.in_flight)} / –` : `${integer.format(r.in_flight)} / ${integer.format(r.limit)}`,
           'num'),
      cell(r.rate_limit_per_second > 0 ? `${decimal.format(r.rate_limit_per_second)}/s` : '–', 'num'),
      cell(r.paused ? 'paused' : 'no', r.paused ? 'bad' : ''),
      cell(r.circuit_open ? 'open' : 'closed', r.circuit_open ? 'bad' : ''),
      cell(integer.format(r.parked), 'num'),
      cell(integer.format(r.dead_lettered), 'num'),
    ]));

    fillTable('shards', status.shards.map((s) => [
      cell(s.shard), cell(integer.format(s.waiting), 'num'), cell(integer.format(s.in_flight), 'num'),
      cell(integer.format(s.delayed), 'num'), cell(integer.format(s.dead), 'num'),
    ]));

    const errors = Object.entries(status.partner_requests)
      .filter(([result, count]) => result !== '2xx' && count > 0)
      .sort((a, b) => b[1] - a[1]);
    fillTable('errors', errors.map(([result, count]) => [cell(result), cell(integer.format(count), 'num')]));
    $('no-errors').hidden = errors.length > 0;

    const dead = status.shards.reduce((sum, s) => sum + s.dead, 0);
    setText('dlq-count', integer.format(dead));
    const letters = status.dead_letters;
    fillTable('dead-letters', letters.map((d) => [
      cell(d.dead_at), cell(d.shard ?? '', 'shard'), clippedCell(d.reason), cell(d.status ? String(d.status) : '–', 'num'),
      clippedCell(d.response), cell(String(d.attempts ?? '–'), 'num'), clippedCell(d.body),
    ]));
    $('dead-letters').classList.toggle('without-shard', !letters.some((d) => d.shard));
    const note = letters.length < dead ? `Showing ${letters.length} of ${integer.format(dead)}.` : '';
    setText('dead-letters-note', note);
    $('requeue').disabled = dead === 0;
    $('purge').disabled = dead === 0;
  }

  // --- Polling: one request at a time, the next a second after the last answer. ---
  async function poll() {
    try {
      const response = await request('GET', 'api/status');
      $('auth-needed').hidden = response.status !== 401;
      if (response.status === 401) {
        setText('connection', 'needs the admin token');
        if (!tokenField.value) tokenField.focus();
      } else if (!response.ok) {
        setText('connection', `status answered ${response.status}: ${await refusal(response)}`);
      } else {
        const status = await response.json();
        render(status);
        record(status);
        setText('connection', `updated ${new Date().toLocaleTimeString()}`);
      }
    } catch (error) {
      setText('connection', `unreachable (${error.name === 'AbortError' ? 'timed out' : error.message})`);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  // --- Dead-letter actions. ---
  async function act(path, done) {
    const message = $('message');
    message.className = '';
    message.textContent = 'working…';
    try {
      const response = await request('POST', path, {all: true});
      if (response.ok) {
        message.textContent = done(await response.json());
        message.className = 'ok';
      } else {
        message.textContent = `Refused (${response.status}): ${await refusal(response)}`;
        message.className = 'error';
      }
    } catch (error) {
      message.textContent = `Failed: ${error.message}`;
      message.className = 'error';
    }
  }

  $('requeue').addEventListener('click', () =>
    act('api/dlq/requeue', (r) => `Requeued ${integer.format(r.requeued)} dead letters.`));
  $('purge').addEventListener('click', () => {
    const count = $('dlq-count').textContent;
    if (!window.confirm(`Delete all ${count} dead letters? This cannot be undone.`)) return;
    act('api/dlq/purge', (r) => `Purged ${integer.format(r.purged)} dead letters.`);
  });

  poll();
})();
