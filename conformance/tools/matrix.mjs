#!/usr/bin/env node
// matrix.mjs: turns `mockgateway run` outputs into matrix.md / matrix.json /
// matrix.html and the bug reports (bugs/CLIENT-SCENARIO.md), and gates CI on them.
//   write      --root R --raw BUILD/conformance --out DIR --clients a,b [--install-seconds N --run-seconds N]
//              [--verdicts FILE (default conformance/verdicts.json)] -- SCENARIO_PATHS...
//              exit 1 if a non-PASS cell has no verdict (unjudged) or a verdict breaks the rules below
//   check      --matrix DIR/matrix.json --known-good conformance/known-good.json
//   known-good --matrix conformance/matrix.json --out conformance/known-good.json
//
// Verdict classes (every non-PASS cell gets one):
//   unsupported   the scenario "requires" a feature the client does not offer
//                 (CLIENTS[c].features); decided here, from the scenario file.
//                 verdicts.json may also say it, for a feature no "requires"
//                 names, with the feature in "reason".
//   client bug    from verdicts.json: the client breaks a rule; "rule" or "why"
//                 cites it (PROTOCOL.md section, Discord docs or an RFC). Each
//                 such verdict gets one report, bugs/CLIENT-SCENARIO.md (named
//                 after its first scenario, listing all its cells), written here.
//   scenario bug  from verdicts.json: the scenario was wrong; fixed in the same
//                 change, so a cell should carry it only until the next run.
// A verdict may carry "mismatch" (a regular expression): it applies only when
// the cell's first mismatch matches, so a cell that now fails for another
// reason shows up unjudged instead of inheriting an old verdict.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

// What each client is and offers. "features" are the scenario "requires"
// values the client (as its adapter runs it) offers. "pkg"/"extra": npm
// packages whose installed version (in conformance/node_modules) is reported.
const CLIENTS = {
  'dgw-client': {
    label: 'dgw-client', version: 'this repo', language: 'C',
    features: ['zlib-stream', 'zstd-stream', 'etf', 'payload-compression', 'request-channel-info'],
    transport: 'as asked: zlib-stream, zstd-stream or payload compression (libdgw); ETF as asked',
  },
  'dgw-shards': {
    label: 'dgw-shards', version: 'this repo', language: 'C',
    features: ['sharding', 'restart', 'zlib-stream', 'zstd-stream'],
    transport: 'as asked: zlib-stream, zstd-stream (libdgw); JSON only; the shard count /gateway/bot gives (one, or the bot of a sharded scenario, run with --supports sharding,restart)',
  },
  'discordjs-ws': {
    label: '@discordjs/ws', pkg: '@discordjs/ws', extra: '@discordjs/rest', language: 'JavaScript',
    features: ['zlib-stream'],
    transport: 'zlib-stream as asked (native zlib-sync 0.1.10, built by npm ci); no zstd; JSON only',
  },
  discordjs: {
    label: 'discord.js', pkg: 'discord.js', language: 'JavaScript',
    features: ['zlib-stream'],
    transport: 'zlib-stream always (zlib-sync installed; no option); no zstd; JSON only',
  },
  eris: {
    label: 'eris', pkg: 'eris', language: 'JavaScript',
    features: ['zlib-stream', 'etf'],
    transport: 'zlib-stream as asked (zlib-sync); no zstd; ETF as asked (native erlpack, conformance/etf/)',
  },
  oceanic: {
    label: 'oceanic.js', pkg: 'oceanic.js', language: 'JavaScript',
    features: ['zlib-stream'],
    transport: 'zlib-stream as asked (zlib-sync); no zstd; JSON only (no erlpack in its tree)',
  },
  discordeno: {
    label: '@discordeno/gateway', pkg: '@discordeno/gateway', language: 'JavaScript',
    features: ['zlib-stream', 'zstd-stream'],
    transport: 'zlib-stream (node:zlib) and zstd-stream (fzstd) as asked; JSON only',
  },
  seyfert: {
    label: 'seyfert', pkg: 'seyfert', language: 'JavaScript',
    features: [],
    transport: 'none (its "compress" is IDENTIFY payload compression); JSON only; wss:// on port 443 only',
  },
  detritus: {
    label: 'detritus-client-socket', pkg: 'detritus-client-socket', language: 'JavaScript',
    features: ['zlib-stream', 'etf'],
    transport: 'zlib-stream as asked (pako 1.0.11); no zstd; ETF as asked (erlpack, conformance/etf/); gateway v9',
  },
  discordpy: {
    label: 'discord.py', version: 'python3-discord', language: 'Python',
    features: ['zlib-stream'],
    transport: 'zlib-stream always (no option); no zstd; JSON only',
  },
};

const VERDICTS = ['client bug', 'unsupported', 'scenario bug'];
const CITATION = /PROTOCOL\.md|Discord docs|RFC ?\d+/;

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
      out.push({ name: j.name, file: rel, folder: path.basename(path.dirname(f)), rule: j.rule, requires: j.requires ?? [] });
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
  // A client that retries in a tight loop logs tens of thousands of lines
  // (oceanic.js against a dead resume URL: 8 MiB): keep the head and the
  // tail, where the mismatch and the verdict are (a stream of thousands of
  // dispatches a client echoes line by line: the same).
  const KEEP = 300;
  if (out.length > 2 * KEEP + 1) {
    out.splice(KEEP, out.length - 2 * KEEP, `[... cut by conformance/tools/matrix.mjs: ${out.length - 2 * KEEP} lines; the whole transcript is in BUILD/conformance/CLIENT/transcripts/]`);
  }
  return out.join('\n');
}

function globMatch(pattern, s) {
  const re = new RegExp(`^${pattern.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(s);
}

function findVerdict(verdicts, client, scenario, mismatch) {
  const fits = (v) => !v.mismatch || new RegExp(v.mismatch).test(mismatch ?? '');
  const exact = verdicts[`${client}/${scenario}`];
  if (exact && fits(exact)) return { key: `${client}/${scenario}`, v: exact };
  for (const [k, v] of Object.entries(verdicts)) {
    if (k.startsWith('_')) continue;
    const [c, s] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    if (c === client && s.includes('*') && globMatch(s, scenario) && fits(v)) return { key: k, v };
  }
  return null;
}

// The scenario's required features the client does not offer.
function missingFeatures(client, scenario) {
  return scenario.requires.filter((f) => !CLIENTS[client].features.includes(f));
}


function pkgVersion(pkg, tree = here) {
  try {
    return JSON.parse(fs.readFileSync(path.join(tree, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch { return '?'; }
}

function clientVersion(c, info) {
  if (c === 'discordpy') {
    try { // Debian's package: its version file sits beside the module
      const init = fs.readFileSync('/usr/lib/python3/dist-packages/discord/__init__.py', 'utf8');
      return `${/__version__ = '([^']+)'/.exec(init)?.[1] ?? '?'} (Debian python3-discord)`;
    } catch { return '?'; }
  }
  if (!info.pkg) return info.version;
  return `${pkgVersion(info.pkg)}${info.extra ? ` + ${info.extra} ${pkgVersion(info.extra)}` : ''}`;
}

function write(o) {
  const root = path.resolve(o.root);
  const out = path.resolve(o.out);
  const raw = path.resolve(o.raw);
  const clients = o.clients.split(',');
  const scenarios = loadScenarios(root, o.rest?.length ? o.rest : ['scenarios/']);
  const verdicts = JSON.parse(fs.readFileSync(o.verdicts ? path.resolve(o.verdicts) : path.join(here, 'verdicts.json'), 'utf8'));
  const meta = {};
  const problems = []; // unjudged cells and verdicts that break the rules: exit 1
  const used = new Set();
  for (const c of clients) {
    // A client this file does not know (the report test's fixtures) offers nothing.
    const info = CLIENTS[c] ?? { label: c, version: '', language: '?', features: [], transport: '' };
    const secs = fs.existsSync(path.join(raw, c, 'seconds')) ? Number(fs.readFileSync(path.join(raw, c, 'seconds'), 'utf8')) : null;
    meta[c] = {
      label: info.label, version: clientVersion(c, info), language: info.language, features: info.features,
      transport: info.transport, seconds: secs,
      // score: the scenarios the client supports (their "requires" it offers)
      supported: 0, supported_passed: 0, unsupported: 0, unsupported_passed: 0,
      verdicts: { 'client bug': 0, unsupported: 0, 'scenario bug': 0 },
    };
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
      const missing = missingFeatures(c, r);
      const m = meta[c];
      if (res.status === 'SKIP') {
        // mockgateway run skipped it: the client did not declare what it needs.
        Object.assign(cell, { verdict: 'unsupported', reason: res.reason, why: `not run: ${res.reason}` });
        m.verdicts.unsupported++;
      } else if (res.status !== 'PASS') {
        cell.mismatch = res.mismatch;
        const found = missing.length ? null : findVerdict(verdicts, c, r.name, res.mismatch);
        if (missing.length) {
          Object.assign(cell, {
            verdict: 'unsupported', reason: `needs ${missing.join(', ')}`,
            why: `the scenario requires ${missing.join(', ')}; ${m.label} (as run here) does not offer it`,
          });
        } else if (found) {
          used.add(found.key);
          const v = found.v;
          // Every field of the verdict goes along (reason, why, a cited rule...):
          // the HTML page shows them all. Its "mismatch" is a pattern, not the
          // cell's mismatch.
          const { mismatch: _pattern, ...fields } = v;
          Object.assign(cell, Object.fromEntries(Object.entries(fields).filter(([k]) => !k.startsWith('_'))));
          if (v.verdict === 'client bug') cell.verdict_key = found.key;
          if (!VERDICTS.includes(v.verdict)) problems.push(`${c}/${r.name}: verdict "${v.verdict}" (${found.key}) is none of ${VERDICTS.join(', ')}`);
          if (v.verdict === 'client bug' && !CITATION.test(`${v.rule ?? ''} ${v.why ?? ''}`)) problems.push(`${c}/${r.name}: client bug without a cited rule (PROTOCOL.md, Discord docs or an RFC) in "rule" or "why" (${found.key})`);
          if (!v.reason || !v.why) problems.push(`${c}/${r.name}: verdict ${found.key} needs "reason" and "why"`);
        } else {
          cell.verdict = 'unjudged';
          problems.push(`${c}/${r.name}: unjudged (${res.status}: ${res.mismatch}); add a verdict to conformance/verdicts.json`);
        }
        if (cell.verdict in m.verdicts) m.verdicts[cell.verdict]++;
      }
      // The score counts the scenarios the client supports: not those whose
      // "requires" it lacks (even if it passes them), nor a cell judged
      // "unsupported" by hand.
      if (missing.length || cell.verdict === 'unsupported') { m.unsupported++; if (res.status === 'PASS') m.unsupported_passed++; }
      else { m.supported++; if (res.status === 'PASS') m.supported_passed++; }
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
  const nbugs = writeBugReports(matrix, clients, root, out, raw);
  fs.writeFileSync(path.join(out, 'matrix.json'), `${JSON.stringify(matrix, null, 1)}\n`);
  fs.writeFileSync(path.join(out, 'matrix.md'), renderMd(matrix, clients));
  fs.writeFileSync(path.join(out, 'matrix.html'), renderHtml(matrix, clients, transcripts, root));
  for (const c of clients) {
    const x = meta[c];
    console.log(`   ${x.label}: ${x.supported_passed}/${x.supported} supported scenarios pass; ${x.unsupported} unsupported (${x.unsupported_passed} pass anyway); ${x.verdicts['client bug']} client bug cells`);
  }
  // Verdicts for a client and scenario of this run that judged no cell.
  const stale = Object.keys(verdicts).filter((k) => {
    if (k.startsWith('_') || used.has(k)) return false;
    const [c, pat] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    return clients.includes(c) && rows.some((r) => globMatch(pat, r.name));
  });
  if (stale.length) console.log(`   verdicts that matched no cell of this run (stale, or the scenario was not run): ${stale.join(', ')}`);
  console.log(`   wrote ${path.relative(process.cwd(), path.join(out, 'matrix.md'))}, matrix.json matrix.html and ${nbugs} bug reports in ${path.relative(process.cwd(), path.join(out, 'bugs'))}/`);
  if (problems.length) {
    console.log(`   ${problems.length} cell(s) not judged properly:`);
    for (const u of problems) console.log(`     ${u}`);
    process.exitCode = 1;
  }
}

// The lines of a transcript that show what went wrong: the protocol lines
// (not the client's own log, "cl") before the first mismatch, and it.
function excerpt(text, max = 24) {
  const lines = text.split('\n');
  let end = lines.findIndex((l) => / !! /.test(l));
  if (end < 0) end = lines.length - 1;
  const picked = [];
  for (let i = end; i >= 0 && picked.length < max; i--) {
    const l = lines[i];
    if (/^\[[\d. ]+\] +(#\d+ +)?cl /.test(l) || !l.trim()) continue;
    picked.unshift(l.length > 300 ? `${l.slice(0, 300)} [...]` : l);
  }
  return picked.join('\n');
}

const GENERATED = '<!-- written by conformance/tools/matrix.mjs from verdicts.json: edit that, not this -->';

// One report per client bug: per verdict of verdicts.json, so a verdict that
// judges many cells (a '*' key) is one report listing them, named after its
// first scenario, bugs/CLIENT-SCENARIO.md. Each cell gets "report", its
// path. The reports this tool wrote for the clients run are replaced.
function writeBugReports(m, clients, root, out, raw) {
  const dir = path.join(out, 'bugs');
  fs.mkdirSync(dir, { recursive: true });
  // Only the reports this tool wrote (their first line says so) are replaced;
  // hand-written ones (a bug no matrix cell shows) stay.
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (clients.some((c) => f.startsWith(`${c}-`)) && f.endsWith('.md') && fs.readFileSync(p, 'utf8').startsWith(GENERATED)) fs.rmSync(p);
  }
  const groups = new Map(); // "client verdict-key" -> [{ r, x }]
  for (const r of m.scenarios) {
    for (const c of clients) {
      const x = r.cells[c];
      if (x.verdict !== 'client bug') continue;
      const k = `${c} ${x.verdict_key}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push({ c, r, x });
    }
  }
  const rel = (p) => path.relative(dir, path.join(root, p));
  for (const cells of groups.values()) {
    const { c, r, x } = cells[0];
    const info = m.clients[c];
    const file = `${c}-${r.name}.md`;
    for (const y of cells) y.x.report = `bugs/${file}`;
    const tpath = path.join(raw, c, 'transcripts', `${r.name}.log`);
    const tx = fs.existsSync(tpath) ? excerpt(fs.readFileSync(tpath, 'utf8')) : '(no transcript)';
    const files = cells.map((y) => y.r.file);
    const L = [
      GENERATED,
      `# ${info.label} ${info.version}: ${x.reason}`,
      '',
      `**Rule broken:** ${x.why}`,
      '',
      `**Client:** ${info.label} ${info.version} (${info.language}), unmodified, configured by`,
      `[\`conformance/adapters/\`](${rel('conformance/adapters')}) (see \`conformance/README.md\`); transport: ${info.transport}.`,
      '',
      `## Scenario${cells.length > 1 ? `s (${cells.length})` : ''}`,
      '',
      ...cells.map((y) => `- [\`${y.r.file}\`](${rel(y.r.file)}) (\`${y.r.name}\`, [transcript](../results/${c}/${y.r.name}.log)): ${y.x.mismatch}`),
      '',
      `Rule of the first: ${r.rule}`,
      '',
      `## Transcript excerpt (\`${r.name}\`)`,
      '',
      'Times in seconds from the scenario start; `->` sent to the client, `<-` received from it, `??` expected, `!!` the mismatch (client log lines left out).',
      '',
      '```',
      tx,
      '```',
      '',
      '## Reproduce',
      '',
      'From a checkout of libdgw, after `meson setup build && ninja -C build` (Debian 12: `WITH_NODE=1 bash scripts/setup-debian.sh` installs what it needs):',
      '',
      '```sh',
      `bash conformance/run-matrix.sh --clients ${c} --out /tmp/repro-${c} --scenarios ${r.file}`,
      '```',
      '',
      ...(cells.length > 1 ? ['All of them:', '', '```sh', `bash conformance/run-matrix.sh --clients ${c} --out /tmp/repro-${c} --scenarios ${files.join(' ')}`, '```', ''] : []),
    ];
    fs.writeFileSync(path.join(dir, file), L.join('\n'));
  }
  for (const r of m.scenarios) for (const c of clients) delete r.cells[c].verdict_key;
  return groups.size;
}

const esc = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderMd(m, clients) {
  const L = [];
  L.push('# Conformance matrix: scenarios/ x gateway clients', '');
  L.push('Generated by `bash conformance/run-matrix.sh` (do not edit by hand; verdicts live in',
    '`conformance/verdicts.json`, bug reports in `bugs/`). Each cell links to the transcript of',
    'that run (long lines cut). See `conformance/README.md` for what the matrix is.', '');
  L.push(`Run: ${m.date}, node ${m.node}; npm ci ${m.timing_seconds.npm_ci} s, scenarios ${m.timing_seconds.scenarios} s.`, '');
  L.push('A client\'s score counts the scenarios it supports: those whose `requires` it offers.',
    'The others are "unsupported": shown in the matrix, not counted.', '');
  L.push('| client | language | version | offers | transport, encoding | score (supported passed / supported) | unsupported (pass anyway) | client bug cells | time |',
    '|---|---|---|---|---|---|---|---|---|');
  for (const c of clients) {
    const x = m.clients[c];
    L.push(`| ${x.label} | ${x.language} | ${esc(x.version)} | ${x.features.join(', ') || '-'} | ${esc(x.transport)} | **${x.supported_passed}/${x.supported}** | ${x.unsupported} (${x.unsupported_passed}) | ${x.verdicts['client bug']} | ${x.seconds ?? '?'} s |`);
  }
  L.push('', '## Scenarios', '');
  L.push('`PASS`; `FAIL (client bug)`; `fail (unsupported)` (not counted).', '');
  L.push(`| scenario | requires | ${clients.map((c) => m.clients[c].label).join(' | ')} |`);
  L.push(`|---|---|${clients.map(() => '---').join('|')}|`);
  for (const r of m.scenarios) {
    const cells = clients.map((c) => {
      const x = r.cells[c];
      const word = x.verdict === 'unsupported' ? x.status.toLowerCase() : x.status;
      const link = x.transcript ? `[${word}](${x.transcript})` : word;
      return x.status === 'PASS' ? link : `${link} (${x.verdict})`;
    });
    L.push(`| [${r.name}](../${r.file}) | ${r.requires.join(', ') || '-'} | ${cells.join(' | ')} |`);
  }
  for (const [title, which] of [['Client bugs', 'client bug'], ['Scenario bugs', 'scenario bug'], ['Unjudged', 'unjudged'], ['Unsupported', 'unsupported']]) {
    const rows = [];
    for (const r of m.scenarios) {
      for (const c of clients) {
        const x = r.cells[c];
        if (x.status === 'PASS' || x.verdict !== which) continue;
        const report = x.report ? ` ([report](${x.report}))` : '';
        rows.push(`| ${r.name} | ${m.clients[c].label} | ${esc(x.reason)}${report} | ${esc(x.why)} | ${esc(x.mismatch)} |`);
      }
    }
    if (!rows.length) continue;
    L.push('', `## ${title} (${rows.length})`, '');
    L.push('| scenario | client | reason | rule / justification | first mismatch |', '|---|---|---|---|---|', ...rows);
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
    clients: clients.map((c) => ({ id: c, ...m.clients[c], compression: m.clients[c].transport })),
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
  const judged = judgedHere();
  let pass = 0, fail = 0;
  for (const c of Object.keys(m.clients)) {
    // dgw-client: every scenario it supports (not the unsupported or
    // SKIPped ones); others: the cells known to pass.
    const gate = c === 'dgw-client'
      ? m.scenarios.filter((s) => s.cells[c] && s.cells[c].verdict !== 'unsupported' && s.cells[c].status !== 'SKIP').map((s) => s.name)
      : (kg[c] ?? []);
    let ok = 0;
    for (const name of gate) {
      const row = m.scenarios.find((s) => s.name === name);
      const cell = row?.cells[c];
      if (cell?.status === 'PASS') { ok++; pass++; continue; }
      fail++;
      console.log(`FAIL  regression ${c}/${name}: ${cell ? `${cell.status}: ${cell.mismatch}` : 'scenario missing'}${cell?.transcript ? ` (${cell.transcript})` : ''}`);
    }
    const extra = m.scenarios.filter((s) => s.cells[c]?.status === 'PASS' && !gate.includes(s.name) && !judged(c, s.name)).map((s) => s.name);
    console.log(`${ok === gate.length ? 'PASS' : 'FAIL'}  matrix ${c}: ${ok}/${gate.length} gated cells pass${extra.length ? `; newly passing (add to known-good.json): ${extra.join(', ')}` : ''}`);
  }
  console.log(`gate: ${pass} passed, ${fail} failed`);
  process.exitCode = fail ? 1 : 0;
}

// Whether verdicts.json judges CLIENT/SCENARIO (whatever the mismatch): a
// cell that failed in some run, kept out of the CI gate even when it passes.
function judgedHere() {
  const verdicts = JSON.parse(fs.readFileSync(path.join(here, 'verdicts.json'), 'utf8'));
  return (c, name) => Object.keys(verdicts).some((k) => k.startsWith(`${c}/`) && globMatch(k.slice(c.length + 1), name));
}

function knownGood(o) {
  const m = JSON.parse(fs.readFileSync(o.matrix, 'utf8'));
  const judged = judgedHere();
  const kg = { _comment: 'Cells that pass (per client), checked by conformance/ci.sh; dgw-client must pass every scenario. A passing cell that verdicts.json judges (it failed in an earlier run: timing-dependent) is left out. Regenerate: node conformance/tools/matrix.mjs known-good --matrix conformance/matrix.json --out conformance/known-good.json' };
  for (const c of Object.keys(m.clients)) {
    kg[c] = m.scenarios.filter((s) => s.cells[c]?.status === 'PASS' && !judged(c, s.name)).map((s) => s.name);
  }
  fs.writeFileSync(o.out, `${JSON.stringify(kg, null, 1)}\n`);
}

const o = args(process.argv.slice(2));
const cmd = { write, check, 'known-good': knownGood }[o._[0]];
if (!cmd) { console.error('usage: matrix.mjs write|check|known-good ...'); process.exit(2); }
cmd(o);
