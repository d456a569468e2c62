// seyfert 5, unmodified: its ShardManager (seyfert/lib/websocket), the layer
// a seyfert Client runs its shards with. It takes the GET /gateway/bot
// answer from its caller (the Client passes its REST client's): the adapter
// asks the mock's. seyfert has no transport compression (its "compress"
// option is IDENTIFY payload compression) and speaks JSON only. No "debug":
// its debug log of each sent payload masks the token by splitting it at '.'
// and throws on a token without two dots (the mock's), so no IDENTIFY would
// go out.
import { createRequire } from 'node:module';
import { parseArgs, gatewayBot, INTENTS, log, printDispatch, onStop } from './common.mjs';

const { ShardManager } = createRequire(import.meta.url)('seyfert/lib/websocket');
const NAME = 'seyfert';
const opts = parseArgs(NAME, { compress: ['none'] });
const info = await gatewayBot(opts.api, opts.token);
const manager = new ShardManager({
  token: opts.token,
  intents: INTENTS,
  info,
  handlePayload: (shardId, packet) => printDispatch(packet),
  onShardDisconnect: (d) => log(NAME, `shard ${d.shardId} disconnected code=${d.code} ${d.reason ?? ''}`),
  onShardReconnect: (d) => log(NAME, `shard ${d.shardId} reconnecting`),
});
onStop(NAME);
manager.spawnShards().then(
  () => log(NAME, 'spawnShards() resolved'),
  (e) => { log(NAME, `spawnShards() failed: ${e?.stack ?? e}`); process.exitCode = 1; },
);
