#!/usr/bin/env node
// Interop check (issue #4): unmodified @discordjs/ws + @discordjs/rest against
// the mock gateway in its default (Discord-like) mode, not a scenario.
//   node conformance/tools/interop-discordjs-ws.mjs BUILD/mockgateway/mockgateway
// Starts `mockgateway --listen 127.0.0.1:0`, reads its URL (first stdout line),
// points @discordjs/rest's `api` at http://HOST:PORT/api (the REST base without
// /v10), and checks: the client connects (HELLO), IDENTIFYs, gets READY and
// GUILD_CREATE. Prints PASS/FAIL per check and "N passed, N failed".
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import process from 'node:process';
import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';

const mgPath = process.argv[2];
if (!mgPath) { console.error('usage: interop-discordjs-ws.mjs PATH/TO/mockgateway'); process.exit(2); }
const TIMEOUT_MS = 15000;

const mg = spawn(mgPath, ['--listen', '127.0.0.1:0', '--heartbeat-interval', '5000', '--guilds', '2', '--log-level', 'warn'],
  { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  const rl = createInterface({ input: mg.stdout });
  rl.once('line', (l) => resolve(l.trim()));
  mg.once('exit', (c) => reject(new Error(`mockgateway exited (${c}) before printing its URL`)));
  setTimeout(() => reject(new Error('mockgateway printed no URL within 5 s')), 5000);
});
const api = `${url.replace(/^ws/, 'http')}/api`;
console.log(`mockgateway (default mode) at ${url}; @discordjs/rest api=${api}`);

const seen = { hello: false, identify: false, ready: null, guildCreate: 0 };
const rest = new REST({ api, version: '10' }).setToken('test-token');
const manager = new WebSocketManager({ token: 'test-token', intents: 513, rest });
manager.on(WebSocketShardEvents.Hello, () => { seen.hello = true; });
manager.on(WebSocketShardEvents.Debug, ({ message }) => { if (/^Identifying/.test(message)) seen.identify = true; });
manager.on(WebSocketShardEvents.Ready, ({ data }) => { seen.ready = data; });
manager.on(WebSocketShardEvents.Dispatch, ({ data }) => { if (data.t === 'GUILD_CREATE') seen.guildCreate++; });
manager.on(WebSocketShardEvents.Error, ({ error }) => console.log(`   client error: ${error?.message ?? error}`));

let connectError = null;
manager.connect().catch((e) => { connectError = e; });
const start = Date.now();
while (Date.now() - start < TIMEOUT_MS && !(seen.ready && seen.guildCreate >= 2) && !connectError) {
  await new Promise((r) => setTimeout(r, 50));
}
const checks = [
  ['connects and gets HELLO (gateway URL from GET /api/v10/gateway/bot)', seen.hello, connectError?.message],
  ['sends IDENTIFY', seen.identify && !!seen.ready, 'no READY after IDENTIFY'],
  ['receives READY with session_id and resume_gateway_url', !!(seen.ready?.session_id && seen.ready?.resume_gateway_url), 'no READY'],
  ['receives GUILD_CREATE (2 guilds)', seen.guildCreate >= 2, `${seen.guildCreate} GUILD_CREATE`],
];
let pass = 0, fail = 0;
for (const [name, ok, why] of checks) {
  console.log(`${ok ? 'PASS' : 'FAIL'}  interop @discordjs/ws default mode: ${name}${ok ? '' : ` (${why})`}`);
  ok ? pass++ : fail++;
}
try { await manager.destroy({ code: 1000, reason: 'interop check done' }); } catch { /* mock may be gone */ }
mg.kill('SIGTERM');
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
