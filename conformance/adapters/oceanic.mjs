// oceanic.js 1.x, unmodified: rest.baseURL pointed at the mock (it answers
// GET /gateway/bot with the gateway URL). oceanic requires the auth string to
// be "Bot <token>" and sends that string as IDENTIFY/RESUME's token.
// Compression: gateway.compress (zlib-stream), through the native zlib-sync
// (npm ci builds it; oceanic prefers it over pako); no zstd-stream. oceanic
// would speak ETF if erlpack loaded (no option): conformance/ has no
// erlpack, so it speaks JSON.
import { createRequire } from 'node:module';
import { Client } from 'oceanic.js';
import { parseArgs, requireNative, INTENTS, log, printDispatch, onStop } from './common.mjs';

const NAME = 'oceanic';
const opts = parseArgs(NAME, { compress: ['none', 'zlib-stream'] });
if (opts.compress === 'zlib-stream') requireNative(NAME, createRequire(import.meta.url), 'zlib-sync');
const client = new Client({
  auth: `Bot ${opts.token}`,
  gateway: { intents: INTENTS, compress: opts.compress === 'zlib-stream', maxShards: 1 },
  rest: { baseURL: opts.api },
});
client.on('packet', (packet) => printDispatch(packet));
client.on('debug', (m) => log(NAME, `debug: ${m}`));
client.on('warn', (m) => log(NAME, `warn: ${m}`));
client.on('error', (e) => log(NAME, `error: ${e?.message ?? e}`));
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
