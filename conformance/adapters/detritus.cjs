// detritus-client-socket 0.8 (the gateway socket of detritus-client),
// unmodified: Gateway.Socket connected to the URL the mock's
// GET /gateway/bot answers (detritus-client's REST layer does the same).
// Gateway v9 (its constant). Compression: zlib-stream through pako (its
// optional peer, installed; pure JS); no zstd-stream. Encoding: JSON, or
// ETF (--encoding etf) with the native erlpack of conformance/etf/.
// IDENTIFY properties: detritus sends only the "$os", "$browser", "$device"
// keys of gateway v6 by default (bugs/detritus-identify-properties.md); the
// adapter adds os/browser/device through the documented identifyProperties
// option (merged into its defaults), so that the other rules get tested.
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');
const process = require('node:process');

(async () => {
  const { parseArgs, requireNative, gatewayBot, INTENTS, log, printDispatch, onStop } = await import('./common.mjs');
  const NAME = 'detritus';
  const opts = parseArgs(NAME, { compress: ['none', 'zlib-stream'], encoding: ['json', 'etf'] });
  const root = opts.encoding === 'etf' ? path.join(__dirname, '..', 'etf') : path.join(__dirname, '..');
  const req = createRequire(path.join(root, 'package.json'));
  if (opts.encoding === 'etf') requireNative(NAME, createRequire(req.resolve('detritus-client-socket')), 'erlpack');
  const { Gateway } = req('detritus-client-socket');
  const info = await gatewayBot(opts.api, opts.token);
  const socket = new Gateway.Socket(opts.token, {
    intents: INTENTS,
    compress: opts.compress === 'zlib-stream' ? 'zlib-stream' : 'none',
    encoding: opts.encoding,
    identifyProperties: { os: process.platform, browser: 'detritus-client-socket', device: 'detritus-client-socket' },
  });
  socket.on('packet', (p) => printDispatch(p));
  socket.on('ready', () => log(NAME, 'READY'));
  socket.on('close', (e) => log(NAME, `close code=${e?.code} ${e?.reason ?? ''}`));
  socket.on('warn', (e) => log(NAME, `warn: ${e?.message ?? e}`));
  socket.on('killed', (e) => log(NAME, `killed: ${e?.message ?? e ?? ''}`));
  socket.on('state', (e) => log(NAME, `state: ${e?.state ?? JSON.stringify(e)}`));
  socket.on('socket', () => log(NAME, 'socket opened'));
  onStop(NAME, () => socket.kill());
  socket.connect(info.url);
})().catch((e) => { process.stderr.write(`[detritus] failed: ${e?.stack ?? e}\n`); process.exitCode = 1; });
