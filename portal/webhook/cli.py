"""`flask webhooks replay`: re-route kept webhook changes by hand."""
from __future__ import annotations

import time

import click
from sqlalchemy.exc import SQLAlchemyError
from flask.cli import AppGroup

from .drainer import RETRY_SECONDS, SWEEP_SECONDS
from .journal import backlog, drain
from .replay import replay

webhooks_cli = AppGroup("webhooks", help="Webhook maintenance.")


@webhooks_cli.command("replay")
@click.option("--number", "numbers", multiple=True, help="Only changes for this phone_number_id (repeatable).")
def replay_command(numbers):
    """Replay kept changes whose number is now linked to a product."""
    result = replay(list(numbers) if numbers else None)
    click.echo(f"replayed {result.replayed} kept change(s); {result.still_unrouted} still have no linked number")


@webhooks_cli.command("drain")
@click.option("--forever", is_flag=True, help="Keep draining as deliveries arrive (a dedicated worker process).")
def drain_command(forever):
    """Store the journaled deliveries now (each web worker's drainer normally does this)."""
    while True:
        try:
            result = drain()
        except SQLAlchemyError as error:
            if not forever:
                raise click.ClickException(f"the database failed ({type(error).__name__}); nothing was lost, try again")
            time.sleep(RETRY_SECONDS)
            continue
        if not forever:
            click.echo(f"stored {result.messages} new message(s), {result.statuses} status(es), {result.events} event(s) "
                       f"from {result.deliveries} delivery(ies); {result.rejected} set aside; {backlog()} still journaled")
            return
        if not result.deliveries:
            time.sleep(SWEEP_SECONDS)
