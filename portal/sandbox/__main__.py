"""`python -m portal.sandbox ...`: serve the sandbox, or act on a running one.

    python -m portal.sandbox serve [--port 5001]
    python -m portal.sandbox world
    python -m portal.sandbox send --number 4100000000000001 --from 15551230001 --text "Hello"
    python -m portal.sandbox send --number 4100000000000001 --from 15551230001 --image [--caption "x"]
    python -m portal.sandbox send --number 4100000000000001 --from 15551230001 --voice | --video | --document
    python -m portal.sandbox send --number 4100000000000001 --from 15551230001 --location -16.5,-68.15
    python -m portal.sandbox send --number 4100000000000001 --from 15551230001 --react "👍"
    python -m portal.sandbox send --number 4100000000000001 --from 15551230001 --kind order   (see --kind help)
    python -m portal.sandbox batch --number 4100000000000001 --from 15551230001 --count 50
    python -m portal.sandbox resend
    python -m portal.sandbox expire|revoke|remove-app BUSINESS_ID
    python -m portal.sandbox quality PHONE_NUMBER_ID GREEN|YELLOW|RED
    python -m portal.sandbox age --number 4100000000000001 --from 15551230001 [--hours 25]

Every command but serve talks to the sandbox on SANDBOX_PORT (5001), or --sandbox-url / SANDBOX_URL.
"""
from __future__ import annotations

import click
import requests

from ..config import ConfigError, demo_port, demo_url


def _default_url() -> str:
    """The sandbox of `make run`: on SANDBOX_PORT, like the demo starts it."""
    try:
        return demo_url("SANDBOX_PORT")
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def _default_port() -> int:
    try:
        return demo_port("SANDBOX_PORT")
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


@click.group()
@click.option("--sandbox-url", envvar="SANDBOX_URL", default=_default_url, show_default="http://127.0.0.1:$SANDBOX_PORT",
              help="Where the sandbox runs (for every command but serve).")
@click.pass_context
def cli(ctx, sandbox_url):
    """The local Meta sandbox (demo and tests only)."""
    ctx.obj = sandbox_url.rstrip("/")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=_default_port, show_default="$SANDBOX_PORT or 5001", type=int)
def serve(host, port):
    """Run the sandbox (PORTAL_ENV must be demo or test)."""
    from werkzeug.serving import run_simple

    from . import SandboxRefused, create_app

    try:
        app = create_app()
    except SandboxRefused as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Meta sandbox on http://{host}:{port} (webhooks to {app.config['PORTAL_WEBHOOK_URL']})")
    run_simple(host, port, app, threaded=True)


def _call(ctx, method: str, path: str, body: dict | None = None) -> dict:
    url = f"{ctx.obj}/api{path}"
    try:
        response = requests.request(method, url, json=body if method == "POST" else None, timeout=15)
    except requests.RequestException:
        raise click.ClickException(f"the sandbox is not answering at {ctx.obj} (is `make run` running?)") from None
    try:
        answer = response.json()
    except ValueError:
        raise click.ClickException(f"the sandbox answered HTTP {response.status_code} without JSON") from None
    if response.status_code >= 400:
        raise click.ClickException(str(answer.get("error") or answer))
    return answer


def _say_delivery(answer: dict, what: str) -> None:
    if answer.get("delivered"):
        click.echo(f"{what}: delivered to the portal (HTTP {answer.get('http_status')})")
    elif answer.get("reason"):
        click.echo(f"{what}: not delivered — {answer['reason']}")
    else:
        click.echo(f"{what}: the portal answered {answer.get('http_status') or 'nothing'}; the sandbox will retry")


@cli.command()
@click.pass_context
def world(ctx):
    """List the test businesses, their accounts, numbers and the customers."""
    answer = _call(ctx, "GET", "/world")
    for business in answer["businesses"]:
        click.echo(f"{business['name']}  business {business['id']}  (Meta user {business['user_id']})")
        for waba in business["wabas"]:
            state = "subscribed" if waba["subscribed"] else "not subscribed"
            click.echo(f"  WABA {waba['id']} {waba['name']} ({state})")
            for number in waba["numbers"]:
                click.echo(f"    {number['phone_number_id']}  {number['display_phone_number']}  "
                           f"quality {number['quality_rating']}")
    click.echo("Customers: " + ", ".join(f"{c['wa_id']} {c['name']}" for c in answer["customers"]))


@cli.command()
@click.option("--number", required=True, help="phone_number_id of the business number")
@click.option("--from", "sender", required=True, help="the customer's wa_id (digits)")
@click.option("--text", help="a text message")
@click.option("--image", is_flag=True, help="a generated picture")
@click.option("--voice", is_flag=True, help="a voice note (Ogg Opus)")
@click.option("--video", is_flag=True, help="a video (MP4)")
@click.option("--document", is_flag=True, help="a PDF document")
@click.option("--caption", default="", help="caption of the picture, video or document")
@click.option("--location", help="LAT,LON")
@click.option("--place", default="", help="name of the location")
@click.option("--react", "emoji", help="react with EMOJI to the conversation's last message")
@click.option("--kind", help="any other kind: flow, list_reply, button_reply, call_permission, order, contacts, "
              "changed_number, request_welcome, edit, revoke, unreact, ad, group, username, username_with_phone, "
              "unsupported; echo, history (the business); alert:ban|restriction|violation|offboarded|"
              "partner_removed|reinstated; error (with --text for edits, echoes, orders)")
@click.pass_context
def send(ctx, number, sender, text, image, voice, video, document, caption, location, place, emoji, kind):
    """A customer sends one message to a business number (or, with --kind, anything else Meta sends)."""
    if kind is not None:
        if image or voice or video or document or location is not None or emoji is not None:
            raise click.UsageError("--kind goes alone (with --text at most)")
        answer = _call(ctx, "POST", "/kinds", {"number": number, "from": sender, "kind": kind, "text": text or ""})
        _say_delivery(answer, answer["kind"])
        return
    chosen = [kind for kind, given in (("text", text is not None), ("image", image), ("voice", voice),
                                       ("video", video), ("document", document),
                                       ("location", location is not None), ("reaction", emoji is not None)) if given]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --text, --image, --voice, --video, --document, --location, --react")
    body = {"number": number, "from": sender, "type": chosen[0], "text": text, "caption": caption,
            "place": place, "emoji": emoji}
    if location is not None:
        latitude, _, longitude = location.partition(",")
        body.update(latitude=latitude.strip(), longitude=longitude.strip())
    answer = _call(ctx, "POST", "/messages", body)
    _say_delivery(answer, f"{chosen[0]} {answer['message']['id']}")


@cli.command()
@click.option("--number", required=True)
@click.option("--from", "sender", required=True)
@click.option("--count", default=20, show_default=True, type=int)
@click.pass_context
def batch(ctx, number, sender, count):
    """COUNT texts from one customer in one webhook POST."""
    answer = _call(ctx, "POST", "/batch", {"number": number, "from": sender, "count": count})
    _say_delivery(answer, f"batch of {answer['count']}")


@cli.command()
@click.pass_context
def resend(ctx):
    """Deliver the last webhook again (a duplicate)."""
    _say_delivery(_call(ctx, "POST", "/resend", {}), "duplicate")


@cli.command()
@click.argument("business_id")
@click.pass_context
def expire(ctx, business_id):
    """Expire every token of a business."""
    answer = _call(ctx, "POST", f"/businesses/{business_id}/expire", {})
    click.echo(f"{answer['business']}: {answer['tokens']} token(s) expired")


@cli.command()
@click.argument("business_id")
@click.pass_context
def revoke(ctx, business_id):
    """Revoke every token of a business (its user removed the app)."""
    answer = _call(ctx, "POST", f"/businesses/{business_id}/revoke", {})
    click.echo(f"{answer['business']}: {answer['tokens']} token(s) revoked")


@cli.command("remove-app")
@click.argument("business_id")
@click.pass_context
def remove_app(ctx, business_id):
    """The business's user removes the app: tokens revoked, deauthorize callback sent."""
    answer = _call(ctx, "POST", f"/businesses/{business_id}/remove-app", {})
    click.echo(f"{answer['business']}: {answer['tokens']} token(s) revoked; deauthorize callback answered "
               f"{answer['callback_status'] or 'nothing'}")


@cli.command()
@click.argument("phone_number_id")
@click.argument("rating", type=click.Choice(["GREEN", "YELLOW", "RED", "UNKNOWN"], case_sensitive=False))
@click.pass_context
def quality(ctx, phone_number_id, rating):
    """Change a number's quality rating (sends phone_number_quality_update)."""
    answer = _call(ctx, "POST", f"/numbers/{phone_number_id}/quality", {"rating": rating.upper()})
    _say_delivery(answer, f"quality {answer['old']} -> {answer['new']}")


@cli.command()
@click.option("--number", required=True, help="phone_number_id of the business number")
@click.option("--from", "sender", required=True, help="the customer's wa_id (digits)")
@click.option("--hours", default=25.0, show_default=True, type=click.FloatRange(min=0, max=24 * 365),
              help="how long ago the customer's last message is to have been written")
@click.pass_context
def age(ctx, number, sender, hours):
    """Move a customer's last message back in time (past 24 hours: the window closes)."""
    answer = _call(ctx, "POST", "/age", {"number": number, "from": sender, "hours": hours})
    state = "open" if answer["window_open"] else "closed"
    click.echo(f"last message from {sender} to {number} is now {hours:g} h old: the 24-hour window is {state}")


if __name__ == "__main__":
    cli(prog_name="python -m portal.sandbox")
