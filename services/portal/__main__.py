"""`python -m services.portal serve [--host H] [--port P]`."""

from __future__ import annotations

import argparse

import uvicorn

from services.portal.app import build


def main() -> None:
    parser = argparse.ArgumentParser(prog="services.portal")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the portal")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    args = parser.parse_args()
    app = build()
    settings = app.state.settings
    uvicorn.run(app, host=args.host or settings.http_host, port=args.port or settings.http_port, log_level="info")


if __name__ == "__main__":
    main()
