"""The local API server of `make run`: the same Chalice app and request handling as `chalice
local`, on a server that holds a burst of connections.

`chalice local` listens with Python's default backlog of 5 (socketserver's request_queue_size):
under 40 clients connecting at once the kernel's accept queue overflows and new connections are
reset. This server is chalice's own `LocalDevServer` and `ChaliceRequestHandler` (so routes,
authorizers, CORS and error handling behave exactly as under `chalice local`), one thread per
connection as there, with a listen backlog of LISTEN_BACKLOG.

    python -m scripts.local_api --stage local --host 127.0.0.1 --port 8000
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer, ThreadedHTTPServer

ROOT = Path(__file__).resolve().parent.parent
# The kernel caps it at net.core.somaxconn (4096 on current Linux).
LISTEN_BACKLOG = 1024


class BackloggedHTTPServer(ThreadedHTTPServer):
    request_queue_size = LISTEN_BACKLOG


def build_server(stage: str, host: str, port: int) -> LocalDevServer:
    """What `chalice local --stage <stage>` builds, on BackloggedHTTPServer."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_routes

    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    validate_routes(config.chalice_app.routes)
    app = config.chalice_app
    # What chalice.local.create_local_server does to the app (local authorizers and event
    # sources), which then builds its server on the default class; chalice 1.34 (pinned).
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, server_cls=BackloggedHTTPServer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # As `chalice local` does: the app's logs on stdout, as in Lambda.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    # As `chalice local` does: the stage's relative paths (.local/ keys) resolve from the root.
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    server = build_server(args.stage, args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
