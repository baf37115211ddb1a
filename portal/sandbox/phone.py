"""The sandbox's own pages: the customer phone, and the controls (tokens, quality, deliveries)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from .actions import CUSTOMER_KINDS, QUALITY_RATINGS, SandboxInputError
from .delivery import Delivery
from .graph_auth import sandbox

bp = Blueprint("sandbox_phone", __name__)


def _selection() -> tuple[str, str]:
    """The number and customer chosen (query or form), defaulting to the first of each."""
    world = sandbox().world
    source = request.form if request.method == "POST" else request.args
    phone_id = source.get("number") or next(iter(world.phones))
    wa_id = source.get("customer") or next(iter(world.customers))
    return phone_id, wa_id


def _back_to_phone(phone_id: str, wa_id: str):
    return redirect(url_for("sandbox_phone.phone", number=phone_id, customer=wa_id))


def _report(delivery: Delivery | None, what: str) -> None:
    if delivery is None:
        flash(f"{what}: kept at Meta, not delivered — no app is subscribed to this number's WhatsApp account "
              "(connect it in the portal first).", "warning")
    elif delivery.ok:
        flash(f"{what}: delivered to the portal (HTTP {delivery.status}).", "success")
    else:
        answer = f"HTTP {delivery.status}" if delivery.status else "no answer"
        flash(f"{what}: the portal answered {answer}; it will be retried.", "error")


def _more_kinds() -> dict[str, str]:
    from . import kinds

    return {**kinds.CUSTOMER_KINDS, **kinds.BUSINESS_KINDS,
            **{f"alert:{name}": f"account alert: {name.replace('_', ' ')} (account_update)" for name in kinds.ALERTS},
            "error": "a value-level error for this number"}


@bp.get("/")
def home():
    return redirect(url_for("sandbox_phone.phone"))


@bp.get("/phone")
def phone():
    box = sandbox()
    phone_id, wa_id = _selection()
    if phone_id not in box.world.phones:
        phone_id = next(iter(box.world.phones))
    selected = box.world.phones[phone_id]
    return render_template(
        "sandbox/phone.html", world=box.world, selected=selected, customer=wa_id,
        customer_name=box.world.customers.get(wa_id, f"+{wa_id}"), kinds=CUSTOMER_KINDS, more_kinds=_more_kinds(),
        subscribed=box.subscribed(selected), conversation=box.world.conversation(phone_id, wa_id),
        window_open=box.world.window_open(phone_id, wa_id), can_resend=box.dispatcher.last_body is not None,
    )


@bp.post("/phone/send")
def send():
    phone_id, wa_id = _selection()
    kind = request.form.get("kind", "text")
    try:
        message, delivery = sandbox().customer_writes(
            phone_id, wa_id, kind, text=request.form.get("text", ""), caption=request.form.get("caption", ""),
            latitude=request.form.get("latitude"), longitude=request.form.get("longitude"),
            place=request.form.get("place", ""), emoji=request.form.get("emoji", ""),
        )
    except SandboxInputError as error:
        flash(str(error), "error")
        return _back_to_phone(phone_id, wa_id)
    _report(delivery, f"Customer {kind} message")
    return _back_to_phone(phone_id, wa_id)


@bp.post("/phone/kind")
def send_kind():
    """Any other kind Meta sends (portal/sandbox/kinds.py): Flow answers, orders, echoes, history, alerts..."""
    from . import kinds

    phone_id, wa_id = _selection()
    try:
        what, delivery = kinds.send(sandbox(), phone_id, wa_id, request.form.get("kind", ""), request.form.get("text", ""))
    except SandboxInputError as error:
        flash(str(error), "error")
        return _back_to_phone(phone_id, wa_id)
    _report(delivery, what.capitalize())
    return _back_to_phone(phone_id, wa_id)


@bp.post("/phone/batch")
def batch():
    phone_id, wa_id = _selection()
    try:
        count, delivery = sandbox().customer_batch(phone_id, wa_id, int(request.form.get("count") or 0))
    except ValueError as error:  # SandboxInputError or a count that is not a number
        message = str(error) if isinstance(error, SandboxInputError) else "The batch size must be a number."
        flash(message, "error")
        return _back_to_phone(phone_id, wa_id)
    _report(delivery, f"Batch of {count} messages in one webhook")
    return _back_to_phone(phone_id, wa_id)


@bp.post("/phone/resend")
def resend():
    phone_id, wa_id = _selection()
    delivery = sandbox().resend_last()
    if delivery is None:
        flash("Nothing was delivered yet, so there is nothing to resend.", "warning")
    else:
        _report(delivery, "The last webhook again (a duplicate)")
    return _back_to_phone(phone_id, wa_id)


@bp.post("/phone/age")
def age():
    """Make the customer's last message 25 hours old: the portal's next free-form reply meets a closed window."""
    phone_id, wa_id = _selection()
    try:
        window_open = sandbox().age_conversation(phone_id, wa_id, request.form.get("hours") or 25)
    except SandboxInputError as error:
        flash(str(error), "error")
        return _back_to_phone(phone_id, wa_id)
    flash("The customer's last message is now older: the 24-hour window is "
          + ("still open." if window_open else "closed (a reply needs a template now)."), "success")
    return _back_to_phone(phone_id, wa_id)


@bp.get("/controls")
def controls():
    box = sandbox()
    return render_template(
        "sandbox/controls.html", world=box.world, ratings=QUALITY_RATINGS, deliveries=list(box.dispatcher.log),
        pending=box.dispatcher.pending(), webhook_url=box.dispatcher.url,
        counts={b: box.world.token_counts(b) for b in box.world.businesses},
    )


@bp.post("/controls/businesses/<business_id>/<action>")
def token_control(business_id, action):
    box = sandbox()
    try:
        business = box.business(business_id)
    except SandboxInputError as error:
        flash(str(error), "error")
        return redirect(url_for("sandbox_phone.controls"))
    if action == "expire":
        count = box.world.expire_tokens(business.id)
        flash(f"{business.name}: {count} token(s) expired.", "success")
    elif action == "revoke":
        count = box.world.revoke_tokens(business.id)
        flash(f"{business.name}: {count} token(s) revoked (Meta invalidated the session).", "success")
    elif action == "remove-app":
        count, status = box.remove_app(business.id)
        answer = f"HTTP {status}" if status else "no answer"
        flash(f"{business.name}: the user removed the app; {count} token(s) revoked; the deauthorize callback "
              f"got {answer}.", "success" if status and status < 300 else "warning")
    else:
        flash("Unknown action.", "error")
    return redirect(url_for("sandbox_phone.controls"))


@bp.post("/controls/numbers/<phone_id>/quality")
def quality(phone_id):
    box = sandbox()
    try:
        old, delivery = box.change_quality(phone_id, request.form.get("rating", ""))
    except SandboxInputError as error:
        flash(str(error), "error")
        return redirect(url_for("sandbox_phone.controls"))
    new = box.world.phones[phone_id].quality
    if old == new:
        flash(f"Quality was already {new}.", "warning")
    else:
        _report(delivery, f"Quality {old} → {new} (phone_number_quality_update)")
    return redirect(url_for("sandbox_phone.controls"))
