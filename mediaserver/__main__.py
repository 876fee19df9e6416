"""`python -m mediaserver --host 127.0.0.1 --port 8300`: the local media server.

The participant tokens are checked against the local IVS public key (`--ivs-public-key`, by
default .local/ivs_public.pem, the pair scripts/keys.py makes and the API signs with). The control
API's shared secret comes from SPACES_MEDIA_CONTROL_SECRET (`make run` and the test fixture
generate one per run); without it the control API refuses every call.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mediaserver", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--ivs-public-key", default=str(ROOT / ".local" / "ivs_public.pem"))
    parser.add_argument("--max-subscribers", type=int, default=100, help="WHEP subscribers per stage")
    parser.add_argument("--hls-dir", default=str(ROOT / ".local" / "hls"), help="where overflow HLS is written")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stdout,
    )
    # aioice and aiortc are chatty at INFO (every candidate pair).
    for noisy in ("aioice", "aiortc", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from aiohttp import web

    from mediaserver.app import make_app

    secret = os.environ.get("SPACES_MEDIA_CONTROL_SECRET", "")
    if not secret:
        logging.getLogger("mediaserver").warning(
            "SPACES_MEDIA_CONTROL_SECRET is not set: the control API refuses every call")
        secret = os.urandom(32).hex()  # nobody knows it: control is closed
    app = make_app(
        public_key_pem=Path(args.ivs_public_key).read_bytes(),
        control_secret=secret,
        max_subscribers=args.max_subscribers,
        hls_dir=Path(args.hls_dir),
    )
    # run_app handles SIGINT and SIGTERM: on_shutdown closes every peer connection first.
    web.run_app(app, host=args.host, port=args.port, print=None, shutdown_timeout=2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
