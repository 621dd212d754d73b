"""The `gridbot` command line. Sub-commands live in small modules; this file assembles them."""

from __future__ import annotations

import json
import sys

import typer

from bot import (
    cli_customers,
    cli_db,
    cli_notices,
    cli_report,
    cli_service,
    cli_sla,
    cli_staff,
    cli_tickets,
    cli_wecom,
)
from bot.cli_common import fail_cleanly

app = typer.Typer(help="gridbot: the digital assistant (数字助手) of a power supply station.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(cli_db.app, name="db")
app.add_typer(cli_staff.app, name="staff")
app.add_typer(cli_tickets.app, name="tickets")
app.add_typer(cli_notices.app, name="notices")
app.add_typer(cli_customers.app, name="customers")
app.add_typer(cli_sla.app, name="sla")
app.add_typer(cli_report.app, name="report")
app.add_typer(cli_wecom.app, name="wecom")
app.registered_commands += cli_service.app.registered_commands


@app.command()
def classify(
    evaluate: str = typer.Option("", "--evaluate", help="A labelled TSV (kind<TAB>text): print precision/recall."),
) -> None:
    """Classify messages, one per line on stdin, printing one JSON object per line."""
    from handlers.classifier import Classifier

    with fail_cleanly():
        classifier = Classifier.default()
        if evaluate:
            from handlers.evaluation import evaluate as run_evaluation
            from handlers.evaluation import format_report, load_labelled

            typer.echo(format_report(run_evaluation(classifier, load_labelled(evaluate))))
            return
        for number, line in enumerate(sys.stdin, start=1):
            verdict = classifier.classify(line.rstrip("\n"))
            record = {"line": number, "kind": verdict.kind.value, "confidence": round(verdict.confidence, 3)}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


words = typer.Typer(help="Sensitive words.", no_args_is_help=True)
app.add_typer(words, name="words")


@words.command("check")
def words_check(
    words_file: str = typer.Option(..., "--words", help="Word list: word[<TAB>category[<TAB>level]] per line."),
    allow_file: str = typer.Option("", "--allow", help="Whitelist: one phrase per line."),
) -> None:
    """Check texts, one per line on stdin; print one JSON object of hits per line."""
    from sensitive_words.cli import run_check

    raise typer.Exit(run_check(words_file, allow_file or None, sys.stdin, sys.stdout))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
