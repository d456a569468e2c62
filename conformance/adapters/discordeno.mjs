// @discordeno/gateway 21, unmodified: the gateway manager alone (the layer
// a discordeno bot runs its shards with). It takes the connection info from
// its caller, as a bot passes it from its REST client: the adapter asks the
// mock's GET /gateway/bot and hands the answer over (camelCased, as
// discordeno's REST layer does). Transport compression: zlib-stream
// (node:zlib) and zstd-stream (the fzstd package, installed), as the
// scenario's client_args ask; JSON only (no ETF).
import { createGatewayManager } from '@discordeno/gateway';
import { parseArgs, gatewayBot, INTENTS, log, printDispatch, onStop } from './common.mjs';

const NAME = 'discordeno';
const opts = parseArgs(NAME, { compress: ['none', 'zlib-stream', 'zstd-stream'] });
const say = (level) => (...a) => log(NAME, `${level}: ${a.map((x) => (typeof x === 'string' ? x : x?.stack ?? JSON.stringify(x))).join(' ')}`);
const logger = {
  debug: say('debug'), info: say('info'), warn: say('warn'), error: say('error'), fatal: say('fatal'),
  setLevel() {}, setDepth() {},
};

const info = await gatewayBot(opts.api, opts.token);
const gateway = createGatewayManager({
  token: opts.token,
  intents: INTENTS,
  transportCompression: opts.compress === 'none' ? null : opts.compress,
  connection: {
    url: info.url,
    shards: info.shards,
    sessionStartLimit: {
      total: info.session_start_limit.total,
      remaining: info.session_start_limit.remaining,
      resetAfter: info.session_start_limit.reset_after,
      maxConcurrency: info.session_start_limit.max_concurrency,
    },
  },
  logger,
  events: {
    message: (shard, p) => printDispatch(p),
    hello: () => log(NAME, 'HELLO'),
    identified: () => log(NAME, 'identified (READY)'),
    resumed: () => log(NAME, 'RESUMED'),
    invalidSession: (shard, resumable) => log(NAME, `INVALID_SESSION resumable=${resumable}`),
    requestedReconnect: () => log(NAME, 'RECONNECT'),
    disconnected: () => log(NAME, 'disconnected'),
  },
});
onStop(NAME);
gateway.spawnShards().then(
  () => log(NAME, 'spawnShards() resolved'),
  (e) => { log(NAME, `spawnShards() failed: ${e?.stack ?? e}`); process.exitCode = 1; },
);
