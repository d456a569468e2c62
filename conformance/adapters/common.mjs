// Shared plumbing for the adapters: command line, environment, output.
// Nothing here touches a client: each adapter only configures and starts one.
import process from 'node:process';

export function parseArgs(name, supported) {
  const argv = process.argv.slice(2);
  let compress = 'none';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--compress' && i + 1 < argv.length) compress = argv[++i];
    else if (a.startsWith('--compress=')) compress = a.slice('--compress='.length);
    else log(name, `ignoring argument ${a}`);
  }
  if (!['none', 'zlib-stream', 'zstd-stream'].includes(compress)) {
    log(name, `unknown --compress ${compress}`);
    process.exit(2);
  }
  const used = supported.includes(compress) ? compress : 'none';
  if (used !== compress) {
    log(name, `--compress ${compress} requested but this client has no pure-JS option for it: running with none`);
  }
  const env = {
    url: process.env.MOCKGATEWAY_URL,
    api: process.env.MOCKGATEWAY_API,
    token: process.env.DISCORD_TOKEN,
    scenario: process.env.MOCKGATEWAY_SCENARIO,
  };
  if (!env.token) { log(name, 'DISCORD_TOKEN is not set'); process.exit(2); }
  if (!env.url && !env.api) { log(name, 'MOCKGATEWAY_URL / MOCKGATEWAY_API not set'); process.exit(2); }
  log(name, `start: scenario=${env.scenario ?? '-'} api=${env.api} url=${env.url} compress=${used}`);
  return { compress: used, requested: compress, ...env };
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
