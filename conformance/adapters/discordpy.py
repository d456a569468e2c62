#!/usr/bin/python3
"""discord.py (Debian's python3-discord), unmodified: discord.Client against
the mock. discord.py has no option for its REST base or gateway URL; both
are class attributes the library itself sets (http.Route.BASE, which its
_set_api_version() rewrites, and gateway.DiscordWebSocket.DEFAULT_GATEWAY,
where a Client connects and where it goes back after INVALID_SESSION
d=false). The adapter points them at the mock and replaces no code.
Login: GET /users/@me and /oauth2/applications/@me (the mock answers both),
then the gateway. Compression: discord.py always asks for zlib-stream (no
option); JSON only. Dispatches: one JSON line each on stdout (from the
documented on_socket_raw_receive event), logs on stderr, exit 0 on SIGTERM.
Run it with Debian's interpreter (/usr/bin/python3), where python3-discord
lives."""
import asyncio
import json
import logging
import os
import signal
import sys

import discord
import discord.gateway
import discord.http
import yarl

NAME = 'discordpy'
MAX_LINE = 2000


def log(msg):
    s = ' '.join(str(msg).split())
    if len(s) > 300:
        s = f'{s[:300]}... ({len(s)} chars)'
    sys.stderr.write(f'[{NAME}] {s}\n')
    sys.stderr.flush()


def parse_args(argv):
    asked = {'compress': 'none', 'encoding': 'json'}
    i = 0
    while i < len(argv):
        a = argv[i]
        key = a[2:].split('=', 1)[0] if a.startswith('--') else None
        if key in asked and '=' in a:
            asked[key] = a.split('=', 1)[1]
        elif key in asked and i + 1 < len(argv):
            i += 1
            asked[key] = argv[i]
        else:
            log(f'ignoring argument {a}')
        i += 1
    if asked['compress'] not in ('none', 'zlib-stream', 'zstd-stream') or asked['encoding'] not in ('json', 'etf'):
        log(f'unknown --compress/--encoding {asked}')
        sys.exit(2)
    if asked['compress'] == 'zstd-stream':
        log('--compress zstd-stream requested but discord.py does not offer it: running with zlib-stream (always on)')
    if asked['encoding'] == 'etf':
        log('--encoding etf requested but discord.py does not offer it: running with json')
    return asked


def main():
    parse_args(sys.argv[1:])
    url, api, token = os.environ.get('MOCKGATEWAY_URL'), os.environ.get('MOCKGATEWAY_API'), os.environ.get('DISCORD_TOKEN')
    if not token or not url or not api:
        log('MOCKGATEWAY_URL, MOCKGATEWAY_API and DISCORD_TOKEN must be set')
        sys.exit(2)
    log(f'start: scenario={os.environ.get("MOCKGATEWAY_SCENARIO", "-")} api={api} url={url} compress=zlib-stream encoding=json discord.py={discord.__version__}')
    discord.http.Route.BASE = api.rstrip('/')
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url.rstrip('/') + '/')

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('[discordpy] %(levelname)s %(name)s: %(message)s'))
    root = logging.getLogger()
    root.addHandler(handler)
    # INFO, not DEBUG: discord.py's DEBUG log formats every received payload
    # (a 1 MiB READY twice over), which alone stalls its event loop for
    # seconds, heartbeats included, and fills the transcript.
    root.setLevel(logging.INFO)
    logging.getLogger('asyncio').setLevel(logging.WARNING)

    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True  # 513, as the other adapters
    client = discord.Client(intents=intents, enable_debug_events=True)

    @client.event
    async def on_socket_raw_receive(msg):
        try:
            p = json.loads(msg)
        except ValueError:
            return
        if not isinstance(p, dict) or p.get('op') != 0:
            return
        line = json.dumps({'op': 0, 't': p.get('t'), 's': p.get('s'), 'd': p.get('d')}, separators=(',', ':'))
        if len(line) > MAX_LINE:
            line = json.dumps({'op': 0, 't': p.get('t'), 's': p.get('s'), 'd': {'truncated': True},
                               'd_bytes': len(json.dumps(p.get('d')))}, separators=(',', ':'))
        sys.stdout.write(line + '\n')
        sys.stdout.flush()

    @client.event
    async def on_ready():
        log('READY')

    @client.event
    async def on_resumed():
        log('RESUMED')

    @client.event
    async def on_disconnect():
        log('disconnected')

    async def run():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda s=sig: (log(f'{signal.Signals(s).name}: exiting'), os._exit(0)))
        async with client:
            await client.start(token, reconnect=True)

    try:
        asyncio.run(run())
    except discord.LoginFailure as e:
        log(f'login failed: {e}')
        sys.exit(1)
    except Exception as e:  # a fatal close code ends start(): exit as the library does
        log(f'client stopped: {type(e).__name__}: {e}')
        sys.exit(1)


if __name__ == '__main__':
    main()
