// Shared plumbing for the adapters: command line, environment, output.
// Nothing here touches a client: each adapter only configures and starts one.
import process from 'node:process';

// The scenario's client_args: --compress none|zlib-stream|zstd-stream and
// --encoding json|etf. `supports` lists what this client offers
// ({compress: [...], encoding: [...]}); anything else is logged and the
// client runs without it: the scenario then fails, and the matrix judges the
// cell "unsupported" from the scenario's "requires" (tools/matrix.mjs).
export function parseArgs(name, supports) {
  const argv = process.argv.slice(2);
  const asked = { compress: 'none', encoding: 'json' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(compress|encoding)(?:=(.*))?$/.exec(a);
    if (m && m[2] !== undefined) asked[m[1]] = m[2];
    else if (m && i + 1 < argv.length) asked[m[1]] = argv[++i];
    else log(name, `ignoring argument ${a}`);
  }
  const known = { compress: ['none', 'zlib-stream', 'zstd-stream'], encoding: ['json', 'etf'] };
  const used = {};
  for (const k of ['compress', 'encoding']) {
    if (!known[k].includes(asked[k])) {
      log(name, `unknown --${k} ${asked[k]}`);
      process.exit(2);
    }
    const offered = supports[k] ?? [known[k][0]];
    used[k] = offered.includes(asked[k]) ? asked[k] : known[k][0];
    if (used[k] !== asked[k]) log(name, `--${k} ${asked[k]} requested but this client does not offer it: running with ${used[k]}`);
  }
  const env = {
    url: process.env.MOCKGATEWAY_URL,
    api: process.env.MOCKGATEWAY_API,
    token: process.env.DISCORD_TOKEN,
    scenario: process.env.MOCKGATEWAY_SCENARIO,
  };
  if (!env.token) { log(name, 'DISCORD_TOKEN is not set'); process.exit(2); }
  if (!env.url && !env.api) { log(name, 'MOCKGATEWAY_URL / MOCKGATEWAY_API not set'); process.exit(2); }
  log(name, `start: scenario=${env.scenario ?? '-'} api=${env.api} url=${env.url} compress=${used.compress} encoding=${used.encoding}`);
  return { ...used, requested: asked, ...env };
}

// A native module the run depends on (zlib-sync, erlpack): a run that asked
// for it and cannot load it stops here, loudly, rather than falling back to
// something else and being judged on that.
export function requireNative(name, req, module) {
  try {
    return req(module);
  } catch (e) {
    log(name, `FATAL: ${module} does not load (${e?.message ?? e}); did npm ci build it? (allowScripts in package.json, a C++ toolchain)`);
    process.exit(3);
  }
}

// GET /gateway/bot from the mock, as the client's own REST layer would, for
// the gateway libraries that take the connection info from their caller.
export async function gatewayBot(api, token) {
  const res = await fetch(`${api}/gateway/bot`, { headers: { Authorization: `Bot ${token}` } });
  if (!res.ok) throw new Error(`GET /gateway/bot: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export const INTENTS = 513; // GUILDS | GUILD_MESSAGES

const MAX_LOG = 300;
export function log(name, msg) {
  let s = String(msg).replace(/\s+/g, ' ');
  if (s.length > MAX_LOG) s = `${s.slice(0, MAX_LOG)}... (${s.length} chars)`;
  process.stderr.write(`[${name}] ${s}\n`);
}

// One dispatch, one JSON line on stdout ({"op":0,"t","s","d"}). A dispatch
// whose line would be huge (the 1 MiB READY scenarios) is summarised so the
// committed transcripts stay small; "d_bytes" gives its size.
const MAX_LINE = 2000;
export function printDispatch(p) {
  if (!p || p.op !== 0) return;
  let line = JSON.stringify({ op: 0, t: p.t, s: p.s, d: p.d });
  if (line.length > MAX_LINE) {
    line = JSON.stringify({ op: 0, t: p.t, s: p.s, d: { truncated: true }, d_bytes: JSON.stringify(p.d).length });
  }
  process.stdout.write(`${line}\n`);
}

export function onStop(name, fn) {
  const stop = (sig) => {
    log(name, `${sig}: exiting`);
    try { fn?.(); } catch { /* exiting anyway */ }
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (e) => log(name, `unhandled rejection: ${e?.stack ?? e}`));
}

// @discordjs/rest and discord.js take the REST base without the version.
export function apiBase(api) {
  return api.replace(/\/v\d+\/?$/, '');
}
