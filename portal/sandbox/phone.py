"""The sandbox's own pages: the customer phone, and the controls (tokens, quality, deliveries)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l

from .actions import CUSTOMER_KINDS, QUALITY_RATINGS, SandboxInputError
from .delivery import Delivery
from .graph_auth import sandbox

bp = Blueprint("sandbox_phone", __name__)

# What the customer sent, for the message after it ("Customer text message: delivered to the portal").
SENT_WORDS = {"text": _l("Customer text message"), "image": _l("Customer image message"),
              "voice": _l("Customer voice message"), "video": _l("Customer video message"),
              "document": _l("Customer document message"), "location": _l("Customer location message"),
              "reaction": _l("Customer reaction message")}
# A sent message's status (Meta's value stays in the class name).
STATUS_WORDS = {"accepted": _l("accepted"), "sent": _l("sent"), "delivered": _l("delivered"), "read": _l("read"),
                "failed": _l("failed"), "played": _l("played")}


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
        flash(_("%(what)s: kept at Meta, not delivered — no app is subscribed to this number's WhatsApp account "
                "(connect it in the portal first).", what=what), "warning")
    elif delivery.ok:
        flash(_("%(what)s: delivered to the portal (HTTP %(status)s).", what=what, status=delivery.status), "success")
    elif delivery.status:
        flash(_("%(what)s: the portal answered HTTP %(status)s; it will be retried.", what=what, status=delivery.status),
              "error")
    else:
        flash(_("%(what)s: the portal answered no answer; it will be retried.", what=what), "error")


def _more_kinds() -> dict[str, str]:
    from . import kinds

    return {**kinds.CUSTOMER_KINDS, **kinds.BUSINESS_KINDS,
            **{f"alert:{name}": _("account alert: %(name)s (account_update)", name=name.replace("_", " "))
               for name in kinds.ALERTS},
            "error": _("a value-level error for this number")}


def _kind_words(kind: str, what: str) -> str:
    """What `kinds.send` sent, in words: Meta's own kind names (Flow, Order, Echo...) stay as they are."""
    if kind.startswith("alert:"):
        return _("Account alert %(name)s", name=kind[6:])
    if kind == "error":
        return _("Value-level error")
    return what.capitalize()


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
        status_words=STATUS_WORDS,
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
    _report(delivery, str(SENT_WORDS.get(kind, kind)))
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
    _report(delivery, _kind_words(request.form.get("kind", "").strip(), what))
    return _back_to_phone(phone_id, wa_id)


@bp.post("/phone/batch")
def batch():
    phone_id, wa_id = _selection()
    try:
        count, delivery = sandbox().customer_batch(phone_id, wa_id, int(request.form.get("count") or 0))
    except ValueError as error:  # SandboxInputError or a count that is not a number
        message = str(error) if isinstance(error, SandboxInputError) else _("The batch size must be a number.")
        flash(message, "error")
        return _back_to_phone(phone_id, wa_id)
    _report(delivery, ngettext("Batch of %(num)d message in one webhook", "Batch of %(num)d messages in one webhook",
                               count))
    return _back_to_phone(phone_id, wa_id)


@bp.post("/phone/resend")
def resend():
    phone_id, wa_id = _selection()
    delivery = sandbox().resend_last()
    if delivery is None:
        flash(_("Nothing was delivered yet, so there is nothing to resend."), "warning")
    else:
        _report(delivery, _("The last webhook again (a duplicate)"))
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
    if window_open:
        flash(_("The customer's last message is now older: the 24-hour window is still open."), "success")
    else:
        flash(_("The customer's last message is now older: the 24-hour window is closed (a reply needs a template "
                "now)."), "success")
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
        flash(_("%(business)s: %(count)d token(s) expired.", business=business.name, count=count), "success")
    elif action == "revoke":
        count = box.world.revoke_tokens(business.id)
        flash(_("%(business)s: %(count)d token(s) revoked (Meta invalidated the session).", business=business.name,
                count=count), "success")
    elif action == "remove-app":
        count, status = box.remove_app(business.id)
        if status:
            flash(_("%(business)s: the user removed the app; %(count)d token(s) revoked; the deauthorize callback "
                    "got HTTP %(status)s.", business=business.name, count=count, status=status),
                  "success" if status < 300 else "warning")
        else:
            flash(_("%(business)s: the user removed the app; %(count)d token(s) revoked; the deauthorize callback "
                    "got no answer.", business=business.name, count=count), "warning")
    else:
        flash(_("Unknown action."), "error")
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
        flash(_("Quality was already %(rating)s.", rating=new), "warning")
    else:
        _report(delivery, _("Quality %(old)s → %(new)s (phone_number_quality_update)", old=old, new=new))
    return redirect(url_for("sandbox_phone.controls"))
