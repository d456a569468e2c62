// @discordjs/ws 1.x + @discordjs/rest 2.x, unmodified. The REST client is
// pointed at the mock (GET /gateway/bot), which hands out the gateway URL.
// Transport compression: zlib-stream through the native zlib-sync (built by
// npm ci: "allowScripts" in package.json), asked for only when the
// scenario's client_args ask for it; without zlib-sync 1.2.3 would fall back
// to IDENTIFY payload compression, so a run that asks for zlib-stream and
// cannot load zlib-sync stops (requireNative). No zstd-stream, JSON only.
import { createRequire } from 'node:module';
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { parseArgs, requireNative, INTENTS, log, printDispatch, onStop, apiBase } from './common.mjs';

const NAME = 'discordjs-ws';
const opts = parseArgs(NAME, { compress: ['none', 'zlib-stream'] });
if (opts.compress === 'zlib-stream') requireNative(NAME, createRequire(import.meta.url), 'zlib-sync');
const rest = new REST({ api: apiBase(opts.api), version: '10' }).setToken(opts.token);
const manager = new WebSocketManager({
  token: opts.token,
  intents: INTENTS,
  rest,
  compression: opts.compress === 'zlib-stream' ? CompressionMethod.ZlibStream : null,
});

manager.on(WebSocketShardEvents.Dispatch, ({ data }) => printDispatch(data));
manager.on(WebSocketShardEvents.Debug, ({ message }) => log(NAME, `debug: ${message}`));
manager.on(WebSocketShardEvents.Hello, () => log(NAME, 'HELLO'));
manager.on(WebSocketShardEvents.Ready, ({ data }) => log(NAME, `READY session_id=${data?.session_id}`));
manager.on(WebSocketShardEvents.Resumed, () => log(NAME, 'RESUMED'));
manager.on(WebSocketShardEvents.Closed, ({ code }) => log(NAME, `closed code=${code}`));
manager.on(WebSocketShardEvents.Error, ({ error }) => log(NAME, `error: ${error?.message ?? error}`));
onStop(NAME);

manager.connect().then(
  () => log(NAME, 'connect() resolved'),
  (e) => { log(NAME, `connect() failed: ${e?.stack ?? e}`); process.exitCode = 1; },
);
