#!/usr/bin/env node
// The report pages in a real browser (meson suite `report`):
//  1. `mockgateway run -j 2 --html` on the fixture scenarios (report/scenarios)
//     for two clients: mg_mini_client (3 pass, 1 fails) and the same with a
//     wrong token (all fail); then conformance/tools/matrix.mjs makes the
//     matrix page of both, judged by report/verdicts.json (client bug,
//     unsupported, scenario bug, a class the page does not know, unjudged).
//  2. Debian's chromium, headless, driven over the DevTools protocol on a
//     pipe (--remote-debugging-pipe: no port, no extra package), loads each
//     page from disk and checks that the matrix is drawn (every cell, with its
//     verdict class), that a real mouse click on a cell opens its transcript
//     as a timeline with the failed step highlighted, that client output is
//     folded and opens on a click, and that the page asked for nothing over
//     the network.
// Fails (never skips) when chromium is missing: CI installs it
// (scripts/setup-debian.sh).
//   node browser_test.mjs --mockgateway EXE --mini-client EXE --root SRC [--chromium EXE] [--keep DIR]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const DEADLINE_MS = 150000;
const here = path.dirname(new URL(import.meta.url).pathname);

function args(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  return o;
}
const opt = args(process.argv.slice(2));
const chromium = opt.chromium || process.env.CHROMIUM || '/usr/bin/chromium';
let failures = 0;
function check(ok, what, detail) {
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}${ok || detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
  if (!ok) failures++;
  return ok;
}
function die(msg) {
  console.log(`FAIL  ${msg}`);
  process.exit(1);
}

for (const k of ['mockgateway', 'mini-client', 'root']) if (!opt[k]) die(`usage: browser_test.mjs --mockgateway EXE --mini-client EXE --root SRC (missing --${k})`);
try {
  fs.accessSync(chromium, fs.constants.X_OK);
} catch {
  die(`no chromium at ${chromium}: this test needs Debian's chromium (apt-get install chromium, or bash scripts/setup-debian.sh); set CHROMIUM=/path to use another`);
}
const timer = setTimeout(() => die(`the test took more than ${DEADLINE_MS / 1000} s`), DEADLINE_MS);

// ---- 1. the pages ------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-report-'));
const fixtures = path.join(here, 'scenarios');
const raw = path.join(tmp, 'raw');
const SECRET = 's3cr3t-report-token';
const clients = {
  // sh prints a line first, so that the transcript has client output to fold
  'client-a': ['sh', '-c', 'echo "hello from the client"; exec "$0" "$@"', opt['mini-client']],
  'client-b': [opt['mini-client'], '--wrong-token'],
};
for (const [c, cmd] of Object.entries(clients)) {
  const dir = path.join(raw, c);
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const r = spawnSync(opt.mockgateway, ['run', '-j', '2', '--token', SECRET, '--html', path.join(dir, 'report.html'),
    '--junit', path.join(dir, 'junit.xml'), '--transcript-dir', path.join(dir, 'transcripts'), fixtures, '--', ...cmd],
  { encoding: 'utf8', timeout: 60000 });
  fs.writeFileSync(path.join(dir, 'run.txt'), r.stdout ?? '');
  fs.writeFileSync(path.join(dir, 'seconds'), String(Math.round((Date.now() - t0) / 1000)));
  check(r.status === 1 && /^\d passed, \d failed$/m.test(r.stdout), `mockgateway run ${c}: exit 1 with a summary line`, `${r.status} ${r.stdout} ${r.stderr}`);
}
const out = path.join(tmp, 'out');
const m = spawnSync(process.execPath, [path.join(opt.root, 'conformance', 'tools', 'matrix.mjs'), 'write', '--root', opt.root,
  '--raw', raw, '--out', out, '--clients', 'client-a,client-b', '--verdicts', path.join(here, 'verdicts.json'),
  '--', path.relative(opt.root, fixtures)], { encoding: 'utf8', timeout: 30000 });
check(m.status === 0, 'matrix.mjs write', m.stdout + m.stderr);
const runPage = path.join(raw, 'client-a', 'report.html');
const matrixPage = path.join(out, 'matrix.html');
for (const p of [runPage, matrixPage]) {
  const html = fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '';
  check(html.length > 0, `${path.basename(p)} written`);
  check(!html.includes(SECRET) && !html.includes('not-the-token'), `${path.basename(p)} shows no token`);
  check(!/(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), `${path.basename(p)} links to nothing outside itself`);
}

// ---- 2. a browser over the DevTools protocol on fds 3 (to it) and 4 (from it)
class Browser {
  constructor() {
    this.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-report-chromium-'));
    this.proc = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', `--user-data-dir=${this.profile}`, '--window-size=1400,900',
      '--remote-debugging-pipe', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stdio[2].on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.proc.on('exit', (code, sig) => { if (!this.closing) die(`chromium ended (${code ?? sig}); its stderr:\n${this.stderr}`); });
    this.next = 0;
    this.pending = new Map();
    this.waiters = [];
    this.events = [];
    let buf = Buffer.alloc(0);
    this.proc.stdio[4].on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (let i; (i = buf.indexOf(0)) >= 0; buf = buf.subarray(i + 1)) this.dispatch(JSON.parse(buf.subarray(0, i).toString('utf8')));
    });
  }
  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`)); else p.resolve(msg.result);
      return;
    }
    this.events.push(msg);
    this.waiters = this.waiters.filter((w) => !(w.method === msg.method && (w.resolve(msg.params), true)));
  }
  send(method, params = {}, sessionId = this.session) {
    const id = ++this.next;
    this.proc.stdio[3].write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
  }
  once(method) { return new Promise((resolve) => this.waiters.push({ method, resolve })); }
  async open() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' }, null);
    this.session = (await this.send('Target.attachToTarget', { targetId, flatten: true }, null)).sessionId;
    await this.send('Page.enable');
    await this.send('Network.enable');
    await this.send('Runtime.enable');
  }
  async load(file) {
    this.events = [];
    const loaded = this.once('Page.loadEventFired');
    await this.send('Page.navigate', { url: pathToFileURL(file).href });
    await loaded;
    await this.until('document.body.dataset.rendered === "true"', 'the page script ran');
  }
  async eval(expression) {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${expression.slice(0, 80)}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }
  async until(expression, what, ms = 10000) {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await this.eval(expression)) return true;
    throw new Error(`timed out waiting for ${what}`);
  }
  // A real click: the element is scrolled into view, then the mouse is
  // pressed and released over its centre (what a person does).
  async click(selector) {
    const at = await this.eval(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null;
      e.scrollIntoView({ block: 'center', inline: 'center' }); const r = e.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`);
    if (!at) throw new Error(`nothing matches ${selector}`);
    const ev = { x: at.x, y: at.y, button: 'left', clickCount: 1 };
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: at.x, y: at.y });
    await this.send('Input.dispatchMouseEvent', { type: 'mousePressed', ...ev });
    await this.send('Input.dispatchMouseEvent', { type: 'mouseReleased', ...ev });
  }
  async key(key) {
    await this.send('Input.dispatchKeyEvent', { type: 'keyDown', key, code: key, windowsVirtualKeyCode: key === 'Escape' ? 27 : 0 });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code: key, windowsVirtualKeyCode: key === 'Escape' ? 27 : 0 });
  }
  offsiteRequests() {
    return this.events.filter((e) => e.method === 'Network.requestWillBeSent').map((e) => e.params.request.url)
      .filter((u) => !u.startsWith('file:') && !u.startsWith('data:') && !u.startsWith('about:'));
  }
  async close() {
    this.closing = true;
    try { await Promise.race([this.send('Browser.close', {}, null), new Promise((r) => setTimeout(r, 3000))]); } catch { /* it is going */ }
    // Chromium's helpers (zygote, renderers) can still be writing into the
    // profile after the browser process is gone: wait for the exit, then
    // remove the profile with retries.
    const exited = this.proc.exitCode !== null || this.proc.signalCode !== null
      ? Promise.resolve() : new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
    fs.rmSync(this.profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}

const CELLS = `[...document.querySelectorAll('#matrix td.cell')].map((td) => ({ client: td.dataset.client,
  scenario: td.dataset.scenario, verdict: td.dataset.verdict, cls: td.className }))`;
const DETAIL = `(() => { const d = document.getElementById('detail'); const f = d.querySelector('.failed-step');
  const out = d.querySelector('.ev-output details');
  return { hidden: d.hidden, scenario: d.dataset.scenario, client: d.dataset.client,
    events: d.querySelectorAll('.timeline > li').length, sends: d.querySelectorAll('.timeline .ev-send').length,
    recvs: d.querySelectorAll('.timeline .ev-recv').length, closes: d.querySelectorAll('.timeline .ev-close').length,
    failed: f ? f.textContent : null, expect: (d.querySelector('.failed-expect') || {}).textContent || null,
    facts: (d.querySelector('.facts') || {}).textContent || '',
    output: out ? { open: out.open, text: out.textContent } : null }; })()`;
const cellSel = (client, scenario) => `#matrix td.cell[data-client="${client}"][data-scenario="${scenario}"]`;

function expectCells(cells, want, page) {
  check(cells.length === Object.keys(want).length, `${page}: ${Object.keys(want).length} cells drawn`, cells);
  for (const [key, verdict] of Object.entries(want)) {
    const [client, scenario] = key.split('/');
    const c = cells.find((x) => x.client === client && x.scenario === scenario);
    const cls = `v-${verdict.replace(/[^a-z0-9]+/g, '-')}`;
    check(c && c.verdict === verdict && c.cls.split(' ').includes(cls), `${page}: cell ${key} is "${verdict}" (class ${cls})`, c);
  }
}

const browser = new Browser();
try {
  await browser.open();

  // -- the page of one run (C: report_html.c)
  await browser.load(runPage);
  expectCells(await browser.eval(CELLS), {
    'client/report-dispatch': 'pass', 'client/report-identify': 'pass',
    'client/report-close-4004': 'pass', 'client/report-close-4000-reconnect': 'fail',
  }, 'run page');
  const folders = await browser.eval(`[...document.querySelectorAll('#matrix tr.folder-row th')].map((t) => t.textContent)`);
  check(JSON.stringify(folders) === JSON.stringify(['basics (2)', 'closing (2)']), 'run page: scenarios grouped by folder, in file order', folders);
  const tiles = await browser.eval(`Object.fromEntries([...document.querySelectorAll('#tiles .tile')].map((t) => [t.querySelector('span').textContent, t.querySelector('b').textContent]))`);
  check(tiles.passed === '3' && tiles.failed === '1' && tiles.unsupported === '0' && /s$/.test(tiles['total time']), 'run page: summary 3 passed, 1 failed, 0 unsupported, total time', tiles);
  check(await browser.eval(`document.getElementById('detail').hidden`), 'run page: no transcript open before a click');
  await browser.click(cellSel('client', 'report-close-4000-reconnect'));
  await browser.until(`!document.getElementById('detail').hidden`, 'the transcript to open');
  let d = await browser.eval(DETAIL);
  check(d.scenario === 'report-close-4000-reconnect' && d.events > 5 && d.sends > 0 && d.recvs > 0, 'run page: a click on the FAIL cell opens its timeline (server and client messages)', d);
  check(d.closes >= 1, 'run page: the close frame is on the timeline', d);
  check(d.failed && /MISMATCH/.test(d.failed) && /connections\[1\]/.test(d.failed), 'run page: the failed step is highlighted with its reason', d);
  check(/failed step/.test(d.facts) && /client exited/.test(d.facts), 'run page: the header names the failed step and the mismatch', d.facts);
  check(await browser.eval(`location.hash === '#/client/report-close-4000-reconnect'`), 'run page: the open transcript has its own address (#/client/scenario)');
  check(d.output && !d.output.open && /hello from the client/.test(d.output.text), 'run page: client output is folded', d.output);
  await browser.click('#detail .ev-output summary');
  await browser.until(`document.querySelector('#detail .ev-output details').open`, 'client output to unfold');
  check(true, 'run page: a click unfolds the client output');
  await browser.key('Escape');
  await browser.until(`document.getElementById('detail').hidden`, 'Escape to close the transcript');
  check(true, 'run page: Escape closes the transcript');
  await browser.click(cellSel('client', 'report-identify'));
  await browser.until(`document.getElementById('detail').dataset.scenario === 'report-identify'`, 'a PASS transcript to open');
  d = await browser.eval(DETAIL);
  check(!d.hidden && d.failed === null && d.recvs > 0, 'run page: a PASS cell opens a timeline without a failed step', d);
  check(browser.offsiteRequests().length === 0, 'run page: no network request', browser.offsiteRequests());

  // -- the matrix page (matrix.mjs), verdict classes from report/verdicts.json
  await browser.load(matrixPage);
  expectCells(await browser.eval(CELLS), {
    'client-a/report-dispatch': 'pass', 'client-a/report-identify': 'pass', 'client-a/report-close-4004': 'pass',
    'client-a/report-close-4000-reconnect': 'client bug',
    'client-b/report-dispatch': 'unjudged', 'client-b/report-identify': 'unsupported',
    'client-b/report-close-4004': 'needs triage', 'client-b/report-close-4000-reconnect': 'scenario bug',
  }, 'matrix page');
  check(await browser.eval(`document.querySelector('${cellSel('client-b', 'report-close-4004')}').classList.contains('v-other')`),
    'matrix page: a verdict class the page does not know gets a colour of its own (v-other)');
  const scores = await browser.eval(`Object.fromEntries([...document.querySelectorAll('#clients tr[data-client]')].map((r) => [r.dataset.client, r.querySelector('.score').textContent]))`);
  check(scores['client-a'] === '3/4' && scores['client-b'] === '0/3', 'matrix page: scores count supported scenarios only', scores);
  await browser.click(cellSel('client-a', 'report-close-4000-reconnect'));
  await browser.until(`document.getElementById('detail').dataset.client === 'client-a'`, 'the matrix transcript to open');
  d = await browser.eval(DETAIL);
  check(d.failed && /MISMATCH/.test(d.failed), 'matrix page: the clicked cell opens its timeline with the failed step highlighted', d);
  check(/exits after close 4000/.test(d.facts) && /PROTOCOL\.md 4: 4000 is resumable/.test(d.facts), "matrix page: the verdict's reason and cited rule are shown", d.facts);
  // The panel leaves the matrix in view: the next cell is one click away.
  await browser.click(cellSel('client-b', 'report-close-4004'));
  await browser.until(`document.getElementById('detail').dataset.client === 'client-b'`, 'the next transcript to open');
  d = await browser.eval(DETAIL);
  check(/needs triage/.test(d.facts) && /bug_report/.test(d.facts), 'matrix page: any field of a verdict is shown', d.facts);
  await browser.eval(`document.getElementById('filter').value = 'unsupported'; document.getElementById('filter').dispatchEvent(new Event('change'))`);
  const shown = await browser.eval(`[...document.querySelectorAll('#matrix tr.scenario-row')].filter((r) => !r.classList.contains('hidden')).map((r) => r.dataset.scenario)`);
  check(JSON.stringify(shown) === '["report-identify"]', 'matrix page: the filter by class keeps the rows with such a cell', shown);
  check(browser.offsiteRequests().length === 0, 'matrix page: no network request', browser.offsiteRequests());
} catch (e) {
  check(false, 'browser session', e.stack || String(e));
} finally {
  await browser.close();
}

clearTimeout(timer);
if (opt.keep) {
  fs.mkdirSync(opt.keep, { recursive: true });
  fs.copyFileSync(runPage, path.join(opt.keep, 'report.html'));
  fs.copyFileSync(matrixPage, path.join(opt.keep, 'matrix.html'));
}
if (failures) console.log(`(outputs kept in ${tmp})`); else fs.rmSync(tmp, { recursive: true, force: true });
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
