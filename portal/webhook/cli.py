"""`flask webhooks replay`: re-route kept webhook changes by hand."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .replay import replay

webhooks_cli = AppGroup("webhooks", help="Webhook maintenance.")


@webhooks_cli.command("replay")
@click.option("--number", "numbers", multiple=True, help="Only changes for this phone_number_id (repeatable).")
def replay_command(numbers):
    """Replay kept changes whose number is now linked to a product."""
    result = replay(list(numbers) if numbers else None)
    click.echo(f"replayed {result.replayed} kept change(s); {result.still_unrouted} still have no linked number")
