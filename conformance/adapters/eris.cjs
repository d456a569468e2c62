// eris 0.18, unmodified. eris fetches the gateway URL over REST, and its REST
// client speaks HTTPS only (options: domain, baseURL, agent). The adapter
// gives it, through the documented rest.agent option, a Node https.Agent
// whose createConnection() opens a plain TCP socket to the mock's REST port
// (the documented Agent extension point): eris then GETs /gateway/bot
// from the mock and connects to the URL it answers, as against Discord.
// Token: "Bot <token>", as eris documents for bots (it then asks
// GET /gateway/bot and sends that string as IDENTIFY's token).
// Compression: zlib-stream through pako (pure JS; eris supports zlib-sync or
// pako); zstd-stream is not supported by eris: "none".
'use strict';
const https = require('node:https');
const net = require('node:net');
const process = require('node:process');
const Eris = require('eris');

(async () => {
  const { parseArgs, INTENTS, log, printDispatch, onStop } = await import('./common.mjs');
  const NAME = 'eris';
  const opts = parseArgs(NAME, ['none', 'zlib-stream']);
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
