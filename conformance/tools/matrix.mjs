#!/usr/bin/env node
// matrix.mjs: turns `mockgateway run` outputs into matrix.md / matrix.json /
// matrix.html, and gates CI on them.
//   write      --root R --raw BUILD/conformance --out DIR --clients a,b [--install-seconds N --run-seconds N]
//              [--verdicts FILE (default conformance/verdicts.json)] -- SCENARIO_PATHS...
//   check      --matrix DIR/matrix.json --known-good conformance/known-good.json
//   known-good --matrix conformance/matrix.json --out conformance/known-good.json
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

// What each client is and how it ran; "compression" is what the adapter maps
// the scenarios' --compress argument to.
const CLIENTS = {
  'dgw-client': {
    label: 'dgw-client', pkg: null, version: 'this repo',
    compression: 'as asked: zlib-stream and zstd-stream (libdgw)',
  },
  'discordjs-ws': {
    label: '@discordjs/ws', pkg: '@discordjs/ws', extra: '@discordjs/rest',
    compression: 'none (zlib-stream needs the native zlib-sync; npm 11 builds no native modules)',
  },
  discordjs: {
    label: 'discord.js', pkg: 'discord.js',
    compression: 'none (zlib-stream only with the native zlib-sync; no option)',
  },
  eris: {
    label: 'eris', pkg: 'eris',
    compression: 'zlib-stream via pako 1.0.11 (pure JS) when asked; zstd-stream unsupported: none',
  },
  oceanic: {
    label: 'oceanic.js', pkg: 'oceanic.js',
    compression: 'zlib-stream via pako 1.0.11 (pure JS) when asked; zstd-stream unsupported: none',
  },
};

function args(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') { o.rest = argv.slice(i + 1); break; }
    if (argv[i].startsWith('--')) o[argv[i].slice(2)] = argv[++i];
    else o._.push(argv[i]);
  }
  return o;
}

function walk(p) {
  const st = fs.statSync(p);
  if (st.isFile()) return p.endsWith('.json') ? [p] : [];
  return fs.readdirSync(p).sort().flatMap((f) => walk(path.join(p, f)));
}

function loadScenarios(root, paths) {
  const out = [];
  for (const p of paths) {
    for (const f of walk(path.resolve(root, p))) {
      const j = JSON.parse(fs.readFileSync(f, 'utf8'));
      if (typeof j.name !== 'string' || !Array.isArray(j.connections)) continue; // not a scenario (e.g. a schema)
      const rel = path.relative(root, f);
      out.push({ name: j.name, file: rel, folder: path.basename(path.dirname(f)), rule: j.rule });
    }
  }
  return out;
}

// "PASS  NAME (1.2 s)" / "FAIL  NAME (FILE): MISMATCH" / "SKIP  NAME (FILE): WHY"
// (a scenario that requires what the client does not declare: --supports)
function parseRun(file) {
  const res = new Map();
  if (!fs.existsSync(file)) return res;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    let m = /^PASS {2}(\S+) \(([\d.]+) s\)/.exec(line);
    if (m) { res.set(m[1], { status: 'PASS', seconds: Number(m[2]) }); continue; }
    m = /^FAIL {2}(\S+) \(([^)]*)\): (.*)$/.exec(line);
    if (m) { res.set(m[1], { status: 'FAIL', mismatch: m[3] }); continue; }
    m = /^SKIP {2}(\S+) \(([^)]*)\): (.*)$/.exec(line);
    if (m) res.set(m[1], { status: 'SKIP', reason: m[3] });
  }
  return res;
}

// Committed transcripts stay small: a long line is cut, and a run of long
// lines (a 1 MiB READY echoed by the client in 2000-byte pieces) becomes one
// marker line.
function trimTranscript(text) {
  const MAX = 400;
  const lines = text.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.length >= 1500 && i + 1 < lines.length && lines[i + 1].length >= 1500) {
      let j = i, bytes = 0;
      while (j < lines.length && lines[j].length >= 1500) bytes += lines[j++].length;
      out.push(`${l.slice(0, MAX)} [... cut by conformance/tools/matrix.mjs: ${j - i} long lines, ${bytes} bytes]`);
      i = j - 1;
      continue;
    }
    out.push(l.length > MAX ? `${l.slice(0, MAX)} [... ${l.length - MAX} more chars]` : l);
  }
  return out.join('\n');
}

function globMatch(pattern, s) {
  const re = new RegExp(`^${pattern.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(s);
}

function findVerdict(verdicts, client, scenario) {
  const exact = verdicts[`${client}/${scenario}`];
  if (exact) return exact;
  for (const [k, v] of Object.entries(verdicts)) {
    if (k.startsWith('_')) continue;
    const [c, s] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    if (c === client && globMatch(s, scenario)) return v;
  }
  return null;
}

function pkgVersion(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch { return '?'; }
}

function write(o) {
  const root = path.resolve(o.root);
  const out = path.resolve(o.out);
  const raw = path.resolve(o.raw);
  const clients = o.clients.split(',');
  const scenarios = loadScenarios(root, o.rest?.length ? o.rest : ['scenarios/']);
  const verdicts = JSON.parse(fs.readFileSync(o.verdicts ? path.resolve(o.verdicts) : path.join(here, 'verdicts.json'), 'utf8'));
  const meta = {};
  const unjudged = [];
  for (const c of clients) {
    const info = CLIENTS[c] ?? { label: c, pkg: null, version: '', compression: '' };
    const version = info.pkg ? `${pkgVersion(info.pkg)}${info.extra ? ` + ${info.extra} ${pkgVersion(info.extra)}` : ''}` : info.version;
    const secs = fs.existsSync(path.join(raw, c, 'seconds')) ? Number(fs.readFileSync(path.join(raw, c, 'seconds'), 'utf8')) : null;
    meta[c] = { label: info.label, version, compression: info.compression, seconds: secs, passed: 0, failed: 0 };
    fs.rmSync(path.join(out, 'results', c), { recursive: true, force: true });
    fs.mkdirSync(path.join(out, 'results', c), { recursive: true });
  }
  const rows = scenarios.map((s) => ({ ...s, cells: {} }));
  const transcripts = new Map(); // "client/scenario" -> trimmed text, for matrix.html
  for (const c of clients) {
    const run = parseRun(path.join(raw, c, 'run.txt'));
    for (const r of rows) {
      const res = run.get(r.name) ?? { status: 'MISSING', mismatch: 'no PASS/FAIL line from mockgateway run' };
      const cell = { status: res.status };
      if (res.seconds !== undefined) cell.seconds = res.seconds;
      const tsrc = path.join(raw, c, 'transcripts', `${r.name}.log`);
      if (fs.existsSync(tsrc)) {
        const rel = path.join('results', c, `${r.name}.log`);
        const text = trimTranscript(fs.readFileSync(tsrc, 'utf8'));
        fs.writeFileSync(path.join(out, rel), text);
        cell.transcript = rel;
        transcripts.set(`${c}/${r.name}`, text);
      }
      if (res.status === 'PASS') meta[c].passed++;
      else if (res.status === 'SKIP') Object.assign(cell, { verdict: 'unsupported', reason: res.reason });
      else {
        meta[c].failed++;
        cell.mismatch = res.mismatch;
        const v = findVerdict(verdicts, c, r.name);
        // Every field of the verdict goes along (reason, why, a cited rule, a
        // bug report...): the HTML page shows what it finds.
        if (v) Object.assign(cell, Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('_'))));
        else { cell.verdict = 'unjudged'; unjudged.push(`${c}/${r.name}`); }
      }
      r.cells[c] = cell;
    }
  }
  const matrix = {
    generated_by: 'conformance/run-matrix.sh',
    date: new Date().toISOString(),
    node: process.version,
    timing_seconds: { npm_ci: Number(o['install-seconds'] ?? 0), scenarios: Number(o['run-seconds'] ?? 0) },
    clients: meta,
    scenarios: rows,
  };
  fs.writeFileSync(path.join(out, 'matrix.json'), `${JSON.stringify(matrix, null, 1)}\n`);
  fs.writeFileSync(path.join(out, 'matrix.md'), renderMd(matrix, clients));
  fs.writeFileSync(path.join(out, 'matrix.html'), renderHtml(matrix, clients, transcripts, root));
  for (const c of clients) console.log(`   ${meta[c].label}: ${meta[c].passed} passed, ${meta[c].failed} failed`);
  if (unjudged.length) {
    console.log(`   ${unjudged.length} FAIL cell(s) without a verdict in conformance/verdicts.json:`);
    for (const u of unjudged) console.log(`     ${u}`);
  }
  console.log(`   wrote ${path.relative(process.cwd(), path.join(out, 'matrix.md'))}, matrix.json and matrix.html`);
}

const esc = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderMd(m, clients) {
  const L = [];
  L.push('# Conformance matrix: scenarios/ x gateway clients', '');
  L.push('Generated by `bash conformance/run-matrix.sh` (do not edit by hand; verdicts live in',
    '`conformance/verdicts.json`). Each cell links to the transcript of that run',
    '(long lines cut). See `conformance/README.md` for what the matrix is.', '');
  L.push(`Run: ${m.date}, node ${m.node}; npm ci ${m.timing_seconds.npm_ci} s, scenarios ${m.timing_seconds.scenarios} s.`, '');
  L.push('| client | version | transport compression | passed | failed | time |', '|---|---|---|---|---|---|');
  for (const c of clients) {
    const x = m.clients[c];
    L.push(`| ${x.label} | ${esc(x.version)} | ${esc(x.compression)} | ${x.passed} | ${x.failed} | ${x.seconds ?? '?'} s |`);
  }
  L.push('', '## Scenarios', '');
  L.push(`| scenario | ${clients.map((c) => m.clients[c].label).join(' | ')} |`);
  L.push(`|---|${clients.map(() => '---').join('|')}|`);
  for (const r of m.scenarios) {
    const cells = clients.map((c) => {
      const x = r.cells[c];
      const link = x.transcript ? `[${x.status}](${x.transcript})` : x.status;
      return x.status === 'PASS' ? link : `${link} (${x.verdict})`;
    });
    L.push(`| [${r.name}](../${r.file}) | ${cells.join(' | ')} |`);
  }
  L.push('', '## Failures', '');
  L.push('| scenario | client | verdict | reason | justification | first mismatch |', '|---|---|---|---|---|---|');
  for (const r of m.scenarios) {
    for (const c of clients) {
      const x = r.cells[c];
      if (x.status === 'PASS') continue;
      L.push(`| ${r.name} | ${m.clients[c].label} | ${esc(x.verdict)} | ${esc(x.reason)} | ${esc(x.why)} | ${esc(x.mismatch)} |`);
    }
  }
  return `${L.join('\n')}\n`;
}

// matrix.html: the page `mockgateway run --html` writes for one client
// (mockgateway/src/report_page.html, its data shape described at its top),
// filled with the whole matrix; self-contained, transcripts inline.
function renderHtml(m, clients, transcripts, root) {
  const page = fs.readFileSync(path.join(root, 'mockgateway', 'src', 'report_page.html'), 'utf8');
  const data = {
    kind: 'matrix',
    title: 'Conformance matrix: scenarios x gateway clients',
    generated: m.date,
    seconds: m.timing_seconds.scenarios,
    notes: [`node ${m.node}; npm ci ${m.timing_seconds.npm_ci} s, scenarios ${m.timing_seconds.scenarios} s. Verdicts: conformance/verdicts.json.`],
    clients: clients.map((c) => ({ id: c, ...m.clients[c] })),
    scenarios: m.scenarios.map((r) => ({
      name: r.name, file: r.file, folder: r.folder, rule: r.rule,
      cells: Object.fromEntries(clients.map((c) => {
        const { transcript, ...cell } = r.cells[c];
        return [c, transcript ? { ...cell, transcript: transcripts.get(`${c}/${r.name}`) ?? '' } : cell];
      })),
    })),
  };
  // Inside <script>, "</script>" or "<!--" in a transcript would end the
  // element: no '<' reaches the page unescaped.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return page.replace('@REPORT_DATA@', () => json);
}

function check(o) {
  const m = JSON.parse(fs.readFileSync(o.matrix, 'utf8'));
  const kg = JSON.parse(fs.readFileSync(o['known-good'], 'utf8'));
  let pass = 0, fail = 0;
  for (const c of Object.keys(m.clients)) {
    // dgw-client: every scenario it can take (not the SKIPped ones, which
    // need --supports); others: the cells known to pass.
    const gate = c === 'dgw-client'
      ? m.scenarios.filter((s) => s.cells[c]?.status !== 'SKIP').map((s) => s.name)
      : (kg[c] ?? []);
    let ok = 0;
    for (const name of gate) {
      const row = m.scenarios.find((s) => s.name === name);
      const cell = row?.cells[c];
      if (cell?.status === 'PASS') { ok++; pass++; continue; }
      fail++;
      console.log(`FAIL  regression ${c}/${name}: ${cell ? `${cell.status}: ${cell.mismatch}` : 'scenario missing'}${cell?.transcript ? ` (${cell.transcript})` : ''}`);
    }
    const extra = m.scenarios.filter((s) => s.cells[c]?.status === 'PASS' && !gate.includes(s.name)).map((s) => s.name);
    console.log(`${ok === gate.length ? 'PASS' : 'FAIL'}  matrix ${c}: ${ok}/${gate.length} gated cells pass${extra.length ? `; newly passing (add to known-good.json): ${extra.join(', ')}` : ''}`);
  }
  console.log(`gate: ${pass} passed, ${fail} failed`);
  process.exitCode = fail ? 1 : 0;
}

function knownGood(o) {
  const m = JSON.parse(fs.readFileSync(o.matrix, 'utf8'));
  const kg = { _comment: 'Cells that pass (per client), checked by conformance/ci.sh; dgw-client must pass every scenario. Regenerate: node conformance/tools/matrix.mjs known-good --matrix conformance/matrix.json --out conformance/known-good.json' };
  for (const c of Object.keys(m.clients)) {
    kg[c] = m.scenarios.filter((s) => s.cells[c]?.status === 'PASS').map((s) => s.name);
  }
  fs.writeFileSync(o.out, `${JSON.stringify(kg, null, 1)}\n`);
}

const o = args(process.argv.slice(2));
const cmd = { write, check, 'known-good': knownGood }[o._[0]];
if (!cmd) { console.error('usage: matrix.mjs write|check|known-good ...'); process.exit(2); }
cmd(o);
