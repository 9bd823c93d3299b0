"""``ragjet serve-store``: serve a Chroma dir or a Milvus Lite .db file on 127.0.0.1 so several processes can
share it (`ragjet.rag.store.serve`)."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ..rag.store import STORES
from ..rag.store.locks import ProcessLock, StoreLockedError
from ..procs import stop_group
from ..rag.store.serve import serve_store, servers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=sorted(servers()), help="which embedded database to serve")
    parser.add_argument("--path", required=True, help="the Chroma directory or the Milvus Lite .db path")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port to listen on (default: {', '.join(f'{k} {s.port}' for k, s in servers().items())})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")


def run(args: argparse.Namespace) -> int:
    """Serve in the foreground until Ctrl-C, holding the database's lock so no process opens it embedded."""
    port = args.port or servers()[args.kind].port
    try:
        lock = ProcessLock(STORES.get(args.kind), args.path)
    except StoreLockedError as exc:
        print(f"ragjet: error: {exc}", file=sys.stderr)
        return 2
    try:
        proc = serve_store(args.kind, args.path, port, host=args.host)
        conf = {"type": args.kind, "kwargs": {"uri": f"http://{args.host}:{port}"}}
        print(f"serving {args.kind} {Path(args.path).expanduser().resolve()} on {conf['kwargs']['uri']} "
              f"(log: {getattr(proc, 'log_path')}); connect with store_conf={conf}. Ctrl-C stops it.", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            stop_group(proc)
    finally:
        lock.release()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the server like Ctrl-C does, instead of leaving it running without its lock holder."""
    raise KeyboardInterrupt
