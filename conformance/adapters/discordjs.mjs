// discord.js 14, unmodified: Client with rest.api pointed at the mock (the
// gateway URL comes from GET /gateway/bot). discord.js asks for zlib-stream
// whenever the native zlib-sync loads, and has no option for it: zlib-sync
// is installed (npm ci builds it, "allowScripts" in package.json), so it
// runs with zlib-stream in every scenario, and stops (requireNative) if
// zlib-sync does not load. No zstd-stream, JSON only.
// Every dispatch comes out through the documented 'raw' event.
import { createRequire } from 'node:module';
import { Client, Events } from 'discord.js';
import { parseArgs, requireNative, INTENTS, log, printDispatch, onStop, apiBase } from './common.mjs';

const NAME = 'discordjs';
const opts = parseArgs(NAME, { compress: ['none', 'zlib-stream'] });
requireNative(NAME, createRequire(import.meta.url), 'zlib-sync');
if (opts.compress === 'none') log(NAME, 'zlib-sync is installed: discord.js asks for zlib-stream anyway (no option)');
const client = new Client({ intents: INTENTS, rest: { api: apiBase(opts.api), version: '10' } });

client.on(Events.Raw, (packet) => printDispatch(packet));
client.on(Events.Debug, (m) => log(NAME, `debug: ${m}`));
client.on(Events.Warn, (m) => log(NAME, `warn: ${m}`));
client.on(Events.Error, (e) => log(NAME, `error: ${e?.message ?? e}`));
client.on(Events.ClientReady, () => log(NAME, 'client ready'));
client.on(Events.ShardReady, (id) => log(NAME, `shard ${id} ready`));
client.on(Events.ShardResume, (id) => log(NAME, `shard ${id} resumed`));
client.on(Events.ShardDisconnect, (ev, id) => log(NAME, `shard ${id} disconnected code=${ev?.code}`));
client.on(Events.ShardReconnecting, (id) => log(NAME, `shard ${id} reconnecting`));
onStop(NAME);

client.login(opts.token).then(
  () => log(NAME, 'login() resolved'),
  (e) => { log(NAME, `login() failed: ${e?.stack ?? e}`); process.exitCode = 1; },
);
