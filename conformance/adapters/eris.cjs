// eris 0.18, unmodified. eris fetches the gateway URL over REST, and its REST
// client speaks HTTPS only (options: domain, baseURL, agent). The adapter
// gives it, through the documented rest.agent option, a Node https.Agent
// whose createConnection() opens a plain TCP socket to the mock's REST port
// (the documented Agent extension point): eris then GETs /gateway/bot
// from the mock and connects to the URL it answers, as against Discord.
// Token: "Bot <token>", as eris documents for bots (it then asks
// GET /gateway/bot and sends that string as IDENTIFY's token).
// Compression: zlib-stream (eris prefers the native zlib-sync, which npm ci
// builds, over pako); no zstd-stream.
// Encoding: eris speaks ETF whenever it can load erlpack, and has no option
// for it. So --encoding etf runs the eris of conformance/etf/ (installed
// beside the native erlpack), and JSON runs the eris of conformance/, where
// erlpack must not be loadable; either mismatch stops the adapter.
'use strict';
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');
const { createRequire } = require('node:module');
const process = require('node:process');

(async () => {
  const { parseArgs, requireNative, INTENTS, log, printDispatch, onStop } = await import('./common.mjs');
  const NAME = 'eris';
  const opts = parseArgs(NAME, { compress: ['none', 'zlib-stream'], encoding: ['json', 'etf'] });
  const root = opts.encoding === 'etf' ? path.join(__dirname, '..', 'etf') : path.join(__dirname, '..');
  const req = createRequire(path.join(root, 'package.json'));
  const erisReq = createRequire(req.resolve('eris'));
  if (opts.encoding === 'etf') requireNative(NAME, erisReq, 'erlpack');
  else {
    let found = null;
    try { found = erisReq.resolve('erlpack'); } catch { /* right: JSON */ }
    if (found) { log(NAME, `FATAL: erlpack is loadable for the JSON run (${found}): eris would speak ETF`); process.exit(3); }
  }
  if (opts.compress === 'zlib-stream') requireNative(NAME, erisReq, 'zlib-sync');
  const Eris = req('eris');
  const api = new URL(opts.api);

  class PlainAgent extends https.Agent {
    createConnection(options, cb) {
      return net.createConnection({ host: api.hostname, port: Number(api.port) }, cb);
    }
  }
  const agent = new PlainAgent({ keepAlive: false });
  agent.defaultPort = Number(api.port);

  const client = new Eris.Client(`Bot ${opts.token}`, {
    intents: INTENTS,
    compress: opts.compress === 'zlib-stream',
    maxShards: 1,
    rest: { domain: api.hostname, baseURL: api.pathname.replace(/\/$/, ''), agent },
  });
  client.on('rawWS', (packet) => printDispatch(packet));
  client.on('debug', (m, id) => log(NAME, `debug: ${typeof m === 'string' ? m : JSON.stringify(m)}`));
  client.on('warn', (m) => log(NAME, `warn: ${m}`));
  client.on('error', (e, id) => log(NAME, `error: ${e?.message ?? e}`));
  client.on('hello', () => log(NAME, 'HELLO'));
  client.on('connect', (id) => log(NAME, `shard ${id} connected`));
  client.on('shardReady', (id) => log(NAME, `shard ${id} ready`));
  client.on('shardResume', (id) => log(NAME, `shard ${id} resumed`));
  client.on('shardDisconnect', (e, id) => log(NAME, `shard ${id} disconnected: ${e?.message ?? e ?? ''}`));
  client.on('ready', () => log(NAME, 'ready'));
  onStop(NAME);
  client.connect().then(
    () => log(NAME, 'connect() resolved'),
    (e) => { log(NAME, `connect() failed: ${e?.stack ?? e}`); process.exitCode = 1; },
  );
})();
