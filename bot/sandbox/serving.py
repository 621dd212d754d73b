"""Serving a sandbox (the fake Telegram, the fake WeCom) with uvicorn inside the caller's event loop."""

from __future__ import annotations

import asyncio
import socket

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """Bound here (not in uvicorn) so port 0 works and a bind error is an OSError. proto=IPPROTO_TCP matters:
    asyncio only sets TCP_NODELAY on accepted sockets of that proto, and without it every response pays a
    ~40 ms Nagle/delayed-ACK stall."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve_on(server: uvicorn.Server, sock: socket.socket, name: str) -> tuple[asyncio.Task[None], str]:
    """Start `server` on `sock`; its task and base URL once it accepts connections."""
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"{name} stopped during startup")
        await asyncio.sleep(0.005)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return task, f"http://{shown}:{bound[1]}"
