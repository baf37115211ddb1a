"""`flask webhooks replay` (re-route kept webhook changes by hand) and `flask webhooks drain`
(store journaled deliveries now, or keep doing it as a drain process of its own)."""
from __future__ import annotations

import os
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from .drainer import run_forever
from .journal import backlog, drain
from .journal_file import JournalFileError
from .replay import replay

webhooks_cli = AppGroup("webhooks", help="Webhook maintenance.")


@webhooks_cli.command("replay")
@click.option("--number", "numbers", multiple=True, help="Only changes for this phone_number_id (repeatable).")
def replay_command(numbers):
    """Replay kept changes whose number is now linked to a product."""
    result = replay(list(numbers) if numbers else None)
    click.echo(f"replayed {result.replayed} kept change(s); {result.still_unrouted} still have no linked number")


@webhooks_cli.command("drain")
@click.option("--forever", is_flag=True, help="Keep draining as deliveries arrive (a drain process of its own).")
@click.option("--nice", type=click.IntRange(0, 19), default=0, help="Lower this process's CPU priority by N.")
@click.option("--exit-with", "parent_pid", type=int, hidden=True, help="Stop when this parent process is gone.")
def drain_command(forever, nice, parent_pid):
    """Store the journaled webhook deliveries now (or keep doing it, with --forever)."""
    if nice:
        os.nice(nice)
    if forever:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"draining the webhook journal (pid {os.getpid()}); Ctrl-C or SIGTERM stops")
        try:
            run_forever(current_app._get_current_object(), stop, parent_pid)
        except KeyboardInterrupt:
            pass
        return
    try:
        result = drain()
    except JournalFileError as error:
        raise click.ClickException(f"the webhook journal file {current_app.extensions['webhook_journal_file'].path} "
                                   f"could not be used ({type(error.orig).__name__}); nothing was lost") from None
    except SQLAlchemyError as error:
        raise click.ClickException(f"the database failed ({type(error).__name__}); nothing was lost, try again") from None
    click.echo(f"stored {result.messages} new message(s), {result.statuses} status(es), {result.events} event(s) "
               f"from {result.deliveries} delivery(ies); {result.rejected} set aside; {backlog()} still journaled")
