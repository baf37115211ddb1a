"""What happens in the sandbox's world and reaches the portal as webhooks.

A customer writes (text, picture, voice note, video, document, location, reaction; one, a batch, or the last
one again), a sent message is delivered and read, a number's quality changes.
Views, the JSON API (the CLI) and the Graph endpoints all call these.
"""
from __future__ import annotations

from urllib.parse import urlparse

from flask_babel import lazy_gettext as _l

from . import graph_errors, payloads
from .delivery import Delivery, Dispatcher, signed_request
from .media import sample_pdf, sample_png, sample_video, sample_voice_note
from .world import Customer, PhoneNumber, Template, World, new_wamid

CUSTOMER_KINDS = ("text", "image", "voice", "video", "document", "location", "reaction")
# What a customer's media message carries: the message type, its MIME type, sample bytes.
CUSTOMER_MEDIA = {
    "image": ("image", "image/png", lambda n: sample_png(seed=n, size=160)),
    "voice": ("audio", "audio/ogg; codecs=opus", lambda n: sample_voice_note(seconds=3 + n % 12)),
    "video": ("video", "video/mp4", lambda n: sample_video(seconds=4 + n % 6)),
    "document": ("document", "application/pdf", lambda n: sample_pdf(f"Sandbox document {n + 1}")),
}
QUALITY_RATINGS = ("GREEN", "YELLOW", "RED", "UNKNOWN")
TEMPLATE_EVENTS = ("APPROVED", "REJECTED", "PAUSED", "DISABLED")  # what Meta's review (or later quality) decides
REJECT_REASONS = ("INVALID_FORMAT", "INCORRECT_CATEGORY", "ABUSIVE_CONTENT", "SCAM", "TAG_CONTENT_MISMATCH")
MAX_BATCH = 1000  # Meta sends at most 1000 updates per POST


class SandboxInputError(ValueError):
    """A request to the sandbox that makes no sense (unknown number, empty text...); the message says why.

    Messages are lazy: a page's flash shows them in the page's language; the JSON API (api.py) and
    everything outside a request read them in English."""


class Sandbox:
    """The world, the dispatcher to the portal, and the settings, bound together."""

    def __init__(self, world: World, dispatcher: Dispatcher, settings: dict):
        self.world = world
        self.dispatcher = dispatcher
        self.settings = settings
        self.app_id = settings["META_APP_ID"]

    # --- lookups for forms ------------------------------------------------------

    def phone(self, phone_id: str) -> PhoneNumber:
        phone = self.world.phones.get(str(phone_id or "").strip())
        if phone is None:
            raise SandboxInputError(_l("No sandbox number with phone_number_id %(id)r.", id=phone_id))
        return phone

    def customer_name(self, wa_id: str) -> str:
        wa_id = str(wa_id or "").strip()
        if not wa_id.isdigit() or not 6 <= len(wa_id) <= 15:
            raise SandboxInputError(_l("The customer must be a WhatsApp id: 6 to 15 digits, country code first."))
        return self.world.customers.get(wa_id) or f"+{wa_id}"

    @property
    def shape(self) -> str:
        """"current" (BSUIDs, usernames) or "legacy" (before April 2026): SANDBOX_WEBHOOK_SHAPE."""
        return self.settings["SANDBOX_WEBHOOK_SHAPE"]

    def subscribed(self, phone: PhoneNumber) -> bool:
        """Meta sends a WABA's webhooks to an app only once the app subscribed to it."""
        return self.app_id in self.world.waba_of(phone.id).subscribed_apps

    # --- the customer writes ------------------------------------------------------

    def build_customer_message(self, phone: PhoneNumber, wa_id: str, kind: str, *, text: str = "",
                               caption: str = "", latitude=None, longitude=None, place: str = "",
                               emoji: str = "") -> dict:
        """The `messages[]` item a customer's action produces (validated, not yet recorded)."""
        now, wamid = self.world.now(), new_wamid()
        if kind == "text":
            text = (text or "").strip()
            if not text:
                raise SandboxInputError(_l("Type a message first."))
            if len(text) > 4096:
                raise SandboxInputError(_l("A WhatsApp text holds at most 4096 characters."))
            return payloads.text_message(wa_id, wamid, now, text)
        if kind in CUSTOMER_MEDIA:
            message_type, mime_type, sample = CUSTOMER_MEDIA[kind]
            media = self.world.add_media(phone.id, mime_type, sample(len(self.world.media)))
            return payloads.media_message(wa_id, wamid, now, message_type, media.id, mime_type, media.sha256,
                                          (caption or "").strip() if kind != "voice" else "",
                                          filename=f"document-{len(self.world.media)}.pdf" if kind == "document" else "",
                                          voice=kind == "voice")
        if kind == "location":
            try:
                lat, lon = float(latitude), float(longitude)
            except (TypeError, ValueError):
                raise SandboxInputError(_l("Latitude and longitude must be numbers.")) from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise SandboxInputError(_l("Latitude is -90..90 and longitude -180..180."))
            return payloads.location_message(wa_id, wamid, now, lat, lon, (place or "").strip())
        if kind == "reaction":
            target = self.world.last_message_id(phone.id, wa_id)
            if target is None:
                raise SandboxInputError(_l("There is no message to react to in this conversation yet."))
            return payloads.reaction_message(wa_id, wamid, now, target, (emoji or "").strip()[:8])
        raise SandboxInputError(_l("Unknown message kind %(kind)r: use one of %(kinds)s.", kind=kind, kinds=", ".join(CUSTOMER_KINDS)))

    def customer_writes(self, phone_id: str, wa_id: str, kind: str, **content) -> tuple[dict, Delivery | None]:
        """A customer sends one message to a number; delivered at once (None when the WABA is not subscribed)."""
        phone = self.phone(phone_id)
        self.customer_name(wa_id)
        customer = self.world.customer(phone.id, wa_id)
        message = self.build_customer_message(phone, wa_id, kind, **content)
        self.world.record_message(phone.id, wa_id, message, inbound=True)
        change = payloads.message_change(phone, customer, message, self.shape)
        body = payloads.envelope(phone.waba_id, [change], self.world.now())
        return change["value"]["messages"][0], self.deliver_webhook(phone, body)

    def customer_batch(self, phone_id: str, wa_id: str, count: int) -> tuple[int, Delivery | None]:
        """`count` texts from one customer in ONE webhook POST (one change each), as Meta batches."""
        phone = self.phone(phone_id)
        self.customer_name(wa_id)
        customer = self.world.customer(phone.id, wa_id)
        if not 1 <= count <= MAX_BATCH:
            raise SandboxInputError(_l("A batch holds 1 to %(max)d messages.", max=MAX_BATCH))
        changes = []
        for number in range(1, count + 1):
            message = self.build_customer_message(phone, wa_id, "text", text=f"Batch message {number} of {count}")
            self.world.record_message(phone.id, wa_id, message, inbound=True, save=False)
            changes.append(payloads.message_change(phone, customer, message, self.shape))
        self.world.save()
        return count, self.deliver_webhook(phone, payloads.envelope(phone.waba_id, changes, self.world.now()))

    def resend_last(self) -> Delivery | None:
        return self.dispatcher.resend_last()

    def deliver_webhook(self, phone: PhoneNumber, body: dict) -> Delivery | None:
        if not self.subscribed(phone):
            return None
        return self.dispatcher.deliver(body)

    # --- the business sent a message -------------------------------------------

    def after_send(self, phone: PhoneNumber, recipient: Customer, wamid: str, kind: str = "text") -> None:
        """Schedule sent, delivered and read, each its own webhook, a moment apart. A reaction the
        business sends gets only `sent` (Meta's reaction reference: no delivered or read for reactions)."""
        statuses = ("sent",) if kind == "reaction" else ("sent", "delivered", "read")
        for status, delay in zip(statuses, self.settings["SANDBOX_STATUS_DELAYS"]):
            self._schedule_status(phone, recipient, wamid, status, delay)

    def after_failed_send(self, phone: PhoneNumber, recipient: Customer, wamid: str) -> None:
        """Outside the window (in "status" mode): accepted, then a failed status with 131047."""
        self._schedule_status(phone, recipient, wamid, "failed", self.settings["SANDBOX_STATUS_DELAYS"][0],
                              errors=[graph_errors.WINDOW_CLOSED_STATUS_ERROR])

    def _schedule_status(self, phone, recipient, wamid, status, delay, errors=None) -> None:
        def happen():
            self.world.set_status(wamid, status)

        if not self.subscribed(phone):
            happen()  # it still happens at Meta; the portal just does not hear of it
            return
        change = payloads.status_change(phone, wamid, status, recipient, self.world.now() + int(delay), errors,
                                        self.shape)
        body = payloads.envelope(phone.waba_id, [change], self.world.now() + int(delay))
        self.dispatcher.schedule(delay, body, f"status {status}", on_due=happen)

    # --- templates ----------------------------------------------------------------

    def review_template(self, waba_id: str, template, rejected: bool = False) -> None:
        """Meta reviews a new template a moment after it is created, and says so by webhook.
        With SANDBOX_TEMPLATE_REVIEW=manual it stays PENDING until someone reviews it on the
        sandbox's templates page (or `POST /api/templates/<id>/review`)."""
        if self.settings["SANDBOX_TEMPLATE_REVIEW"] == "manual":
            return
        event = "REJECTED" if rejected else "APPROVED"
        reason = "INVALID_FORMAT" if rejected else "NONE"

        def happen():
            self.world.set_template_status(waba_id, template.id, event, reason)

        if self.app_id not in self.world.wabas[waba_id].subscribed_apps:
            happen()
            return
        delay = self.settings["SANDBOX_STATUS_DELAYS"][0]
        at = self.world.now() + int(delay)
        body = payloads.envelope(waba_id, [payloads.template_status_change(template, event, reason, at)], at)
        self.dispatcher.schedule(delay, body, f"template {template.name} {event}", on_due=happen)

    def set_template_status(self, template_id: str, event: str,
                            reason: str = "NONE") -> tuple[Template, Delivery | None]:
        """Control: Meta approves, rejects (with a reason), pauses or disables a template now, and
        sends `message_template_status_update` (None when no app is subscribed to its WABA)."""
        event = event.upper()
        if event not in TEMPLATE_EVENTS:
            raise SandboxInputError(_l("The review is one of %(events)s.", events=", ".join(TEMPLATE_EVENTS)))
        reason = (reason or "NONE").upper() if event == "REJECTED" else "NONE"
        if event == "REJECTED" and reason not in REJECT_REASONS:
            raise SandboxInputError(_l("A rejection's reason is one of %(reasons)s.", reasons=", ".join(REJECT_REASONS)))
        found = self.world.template_by_id(str(template_id))
        if found is None:
            raise SandboxInputError(_l("No sandbox template %(id)r.", id=template_id))
        waba_id, template = found
        self.world.set_template_status(waba_id, template.id, event, reason)
        if self.app_id not in self.world.wabas[waba_id].subscribed_apps:
            return template, None  # it still happens at Meta; the portal just does not hear of it
        at = self.world.now()
        body = payloads.envelope(waba_id, [payloads.template_status_change(template, event, reason, at)], at)
        return template, self.dispatcher.deliver(body, f"template {template.name} {event}")

    # --- controls -----------------------------------------------------------------

    def change_quality(self, phone_id: str, rating: str) -> tuple[str, Delivery | None]:
        phone = self.phone(phone_id)
        rating = str(rating or "").upper()
        if rating not in QUALITY_RATINGS:
            raise SandboxInputError(_l("Quality must be one of %(ratings)s.", ratings=", ".join(QUALITY_RATINGS)))
        old = self.world.set_quality(phone.id, rating)
        if old == rating:
            return old, None
        body = payloads.envelope(phone.waba_id, [payloads.quality_change(phone, old, rating)], self.world.now())
        return old, self.deliver_webhook(phone, body)

    def age_conversation(self, phone_id: str, wa_id: str, hours) -> bool:
        """The customer's last message to this number becomes `hours` old; answers whether the
        24-hour window is still open (a send after it closed answers 131047, as at Meta)."""
        phone = self.phone(phone_id)
        try:
            hours = float(hours)
        except (TypeError, ValueError):
            raise SandboxInputError(_l("hours must be a number")) from None
        if not 0 <= hours <= 24 * 365:
            raise SandboxInputError(_l("hours must be from 0 to 8760 (a year)"))
        try:
            self.world.age_last_inbound(phone.id, str(wa_id or ""), hours)
        except KeyError:
            raise SandboxInputError(_l("That customer has not written to this number yet.")) from None
        return self.world.window_open(phone.id, str(wa_id or ""))

    def deauthorize_url(self) -> str:
        """Where Meta would call the app's Deauthorize Callback: configured, or /meta/deauthorize beside /webhook."""
        if self.settings.get("PORTAL_DEAUTHORIZE_URL"):
            return self.settings["PORTAL_DEAUTHORIZE_URL"]
        webhook = urlparse(self.dispatcher.url)
        return f"{webhook.scheme}://{webhook.netloc}/meta/deauthorize"

    def remove_app(self, business_id: str) -> tuple[int, int | None]:
        """The business's user removes the app: tokens revoked, and Meta's deauthorize callback (signed_request)."""
        business = self.business(business_id)
        count = self.world.revoke_tokens(business.id)
        payload = {"algorithm": "HMAC-SHA256", "issued_at": self.world.now(), "user_id": business.user_id}
        status = self.dispatcher.post_form(self.deauthorize_url(),
                                           {"signed_request": signed_request(payload, self.settings["META_APP_SECRET"])})
        return count, status

    def business(self, business_id: str):
        business = self.world.businesses.get(str(business_id or ""))
        if business is None:
            raise SandboxInputError(_l("No sandbox business %(id)r.", id=business_id))
        return business
