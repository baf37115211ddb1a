"""`flask webhooks replay` (re-route kept webhook changes by hand) and `flask webhooks drain`
(store every journaled delivery now, then exit; `flask work` does it continuously)."""
from __future__ import annotations

import gc

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

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
def drain_command():
    """Store every journaled webhook delivery now, then exit."""
    gc.freeze()  # as `flask work` does (portal/jobs.py run_worker): the app's objects stay out of collections
    try:
        result = drain()
    except SQLAlchemyError as error:
        raise click.ClickException(f"the database or the journal failed ({type(error).__name__}); "
                                   "nothing was lost, try again") from None
    click.echo(f"stored {result.messages} new message(s), {result.statuses} status(es), {result.events} event(s) "
               f"from {result.deliveries} delivery(ies); {result.rejected} set aside; {backlog()} still journaled")
