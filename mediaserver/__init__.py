"""The local media server: plays the part of an IVS real-time stage for the `local` stage.

Publishers send Opus over WHIP, subscribers receive over WHEP (12 audio "slots" per subscriber,
one per possible publisher), both authorized by the IVS participant tokens the API mints. The
API's MediaPort drives it through a loopback-only control API (disconnect, delete, overflow HLS).
Run: `python -m mediaserver --host 127.0.0.1 --port 8300`. docs/media.md describes the protocol.

It belongs to the local stack and the tests only: nothing here enters the Lambda package.
"""
