// @discordjs/ws 1.x + @discordjs/rest 2.x, unmodified. The REST client is
// pointed at the mock (GET /gateway/bot), which hands out the gateway URL.
// Transport compression: 1.2.3 only does zlib-stream through the native
// zlib-sync (not installed, npm 11 runs no install scripts), and falls back to
// IDENTIFY payload compression without it; so this adapter always runs with
// compression: null ("none").
import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import { parseArgs, INTENTS, log, printDispatch, onStop, apiBase } from './common.mjs';

const NAME = 'discordjs-ws';
const opts = parseArgs(NAME, ['none']);
const rest = new REST({ api: apiBase(opts.api), version: '10' }).setToken(opts.token);
const manager = new WebSocketManager({ token: opts.token, intents: INTENTS, rest, compression: null });

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
