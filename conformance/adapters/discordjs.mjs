// discord.js 14, unmodified: Client with rest.api pointed at the mock (the
// gateway URL comes from GET /gateway/bot). discord.js asks for zlib-stream
// only when the native zlib-sync is installed (it is not: npm 11 runs no
// install scripts) and has no option for it, so it runs with "none".
// Every dispatch comes out through the documented 'raw' event.
import { Client, Events } from 'discord.js';
import { parseArgs, INTENTS, log, printDispatch, onStop, apiBase } from './common.mjs';

const NAME = 'discordjs';
const opts = parseArgs(NAME, ['none']);
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
