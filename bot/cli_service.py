"""`gridbot run`, `gridbot sandbox` and `gridbot demo`: the long-running commands."""

from __future__ import annotations

import asyncio
import logging

import typer

from bot.cli_common import fail_cleanly, settings
from bot.logs import configure

app = typer.Typer()


def _logging(verbose: bool, as_json: bool = False) -> None:
    configure(logging.DEBUG if verbose else logging.INFO, as_json=as_json)


@app.command()
def run(
    sandbox: bool = typer.Option(False, "--sandbox", help="Run against an in-process sandbox Bot API server."),
    sandbox_port: int = typer.Option(0, "--sandbox-port", help="Port for the sandbox (0: any free port)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
    log_json: bool = typer.Option(False, "--log-json", envvar="GRIDBOT_LOG_JSON",
                                  help="One JSON object per log line (for a log collector)."),
) -> None:
    """Run the service until SIGTERM/SIGINT."""
    from bot.service import Running, serve

    _logging(verbose, log_json)

    async def ready(running: Running) -> None:
        if running.sandbox_url:
            typer.echo(f"sandbox Bot API: {running.sandbox_url}/bot  control API: {running.sandbox_url}/control")
        if running.wecom_sandbox is not None:
            typer.echo(f"sandbox WeCom API: {running.wecom_sandbox.api_base_url}  "
                       f"control API: {running.wecom_sandbox.control_url}")
        served = []
        if running.telegram is not None:
            served.append(f"Telegram as @{running.telegram.core.bot_username}")
        if running.wecom is not None:
            served.append(f"WeCom (callbacks on {running.wecom.settings.callback_path})")
        typer.echo(f"gridbot is running: {', '.join(served)}; HTTP on port {running.http_port}. Ctrl-C stops it.")

    with fail_cleanly():
        asyncio.run(serve(settings(), sandbox=sandbox, sandbox_port=sandbox_port, on_ready=ready))


@app.command("sandbox")
def sandbox_cmd(
    port: int = typer.Option(8081, "--port", help="Port on 127.0.0.1."),
    host: str = typer.Option("127.0.0.1", "--host"),
) -> None:
    """Run the sandbox Telegram Bot API server standalone."""
    from bot.sandbox import run_sandbox

    run_sandbox(host=host, port=port)


@app.command()
def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep the service running after the script."),
) -> None:
    """A scripted, offline day in a station through the real stack; exits non-zero if a step fails."""
    from bot.demo import run_demo

    configure(logging.ERROR)
    with fail_cleanly():
        ok = asyncio.run(run_demo(keep=keep))
    raise typer.Exit(0 if ok else 1)
