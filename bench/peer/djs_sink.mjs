// djs_sink.mjs - benchmark 2, the peer side: @discordjs/ws 1.x consuming the
// mock gateway's stream, as a discord.js bot would (WebSocketManager, the
// default SimpleShardingStrategy: one shard in the main thread, no worker).
//
//   node djs_sink.mjs URL [--events N] [--compress none|zlib-stream]
//
// The gateway URL comes from GET /api/v10/gateway/bot on the mock gateway
// (the same port), through @discordjs/rest, as in production. Counts the
// manager's "dispatch" events after READY; after N, destroys the manager
// (close 1000) and prints one line like dgw_sink's:
//
//   djs_sink compress=none events=N wall_s=... events_per_s=... cpu_s=...
//            events_per_cpu_s=...
//
// Compression: @discordjs/ws 1.x does zlib-stream only through the native
// zlib-sync package (it never uses node:zlib for the transport; without
// zlib-sync it warns and falls back to per-payload "identify" compression,
// which Discord applies to nothing but READY). bench/peer pins zlib-sync and
// allows its install script (package.json "allowScripts"), so npm 11 builds
// it; --compress zlib-stream stops here (exit 1) if it cannot be loaded,
// rather than measure the fallback.
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { createRequire } from 'node:module';
import process from 'node:process';

const args = process.argv.slice(2);
let url = null;
let want = 100000;
let compress = 'none';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--events') want = Number(args[++i]);
  else if (args[i] === '--compress') compress = args[++i];
  else if (!url) url = args[i];
}
if (!url || !(want > 0)) {
  console.error('usage: node djs_sink.mjs URL [--events N] [--compress none|zlib-stream]');
  process.exit(2);
}
if (compress === 'zlib-stream') {
  try {
    createRequire(import.meta.url)('zlib-sync');
  } catch (err) {
    console.error(`djs_sink: --compress zlib-stream needs the native zlib-sync (npm ci in bench/peer): ${err.message}`);
    process.exit(1);
  }
} else if (compress !== 'none') {
  console.error(`djs_sink: --compress ${compress}: @discordjs/ws 1.x has none or zlib-stream`);
  process.exit(2);
}
const api = url.replace(/^ws/, 'http').replace(/\/+$/, '') + '/api';
const token = process.env.DISCORD_TOKEN ?? 'test-token';

const rest = new REST({ api, version: '10' }).setToken(token);
const manager = new WebSocketManager({
  token,
  intents: 513,
  rest,
  compression: compress === 'zlib-stream' ? CompressionMethod.ZlibStream : null,
});
if (process.env.DJS_SINK_DEBUG) manager.on(WebSocketShardEvents.Debug, ({ message }) => console.error(message));

let ready = false;
let got = 0;
let t0 = 0n;
let c0 = null;
const done = async (ok) => {
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage(c0);
  if (ok) {
    const wall = Number(t1 - t0) / 1e9;
    const cpu = (c1.user + c1.system) / 1e6;
    console.log(
      `djs_sink compress=${compress} events=${got} wall_s=${wall.toFixed(4)} events_per_s=${Math.round(got / wall)} ` +
        `cpu_s=${cpu.toFixed(4)} events_per_cpu_s=${Math.round(got / cpu)}`,
    );
  } else {
    console.error(`djs_sink: only ${got} of ${want} dispatches`);
  }
  try {
    await manager.destroy({ code: 1000, reason: 'done' });
  } catch {}
  process.exit(ok ? 0 : 1);
};
manager.on(WebSocketShardEvents.Dispatch, ({ data }) => {
  if (!ready) {
    if (data.t === 'READY') {
      ready = true;
      t0 = process.hrtime.bigint();
      c0 = process.cpuUsage();
    }
    return;
  }
  if (++got === want) done(true);
});
manager.on(WebSocketShardEvents.Closed, ({ code }) => {
  if (got < want) {
    console.error(`djs_sink: closed early (${code})`);
    done(false);
  }
});
setTimeout(() => done(false), Number(process.env.DJS_SINK_TIMEOUT_MS ?? 120000)).unref();
await manager.connect();
