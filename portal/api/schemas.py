"""What the product API reads and answers, as marshmallow schemas: the views load requests and
dump answers with them, outgoing webhooks dump their `data` with them, and the OpenAPI document
is generated from them (apispec), so the three never disagree."""
from __future__ import annotations

import re
from datetime import timezone

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{5,30}$")
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")


class UTCDateTime(fields.DateTime):
    """The database keeps naive UTC; the API says so (ISO 8601 with +00:00)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "A stable machine-readable code, e.g. window_closed."})
    message = fields.String(required=True, metadata={"description": "What went wrong and what to do, in words."})


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


# ---- sending ---------------------------------------------------------------------------------

class TemplateIn(Schema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,512}$", error="A template name is lowercase letters, digits and underscores."))
    language = fields.String(required=True, validate=validate.Regexp(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$", error="A language is a code such as en_US or es."))
    parameters = fields.List(fields.String(validate=validate.Length(min=1, max=1024)), load_default=list,
                             validate=validate.Length(max=100),
                             metadata={"description": "The body's {{1}}, {{2}}... in order."})


class MediaIn(Schema):
    type = fields.String(required=True, validate=validate.OneOf(MEDIA_TYPES))
    link = fields.Url(schemes={"https", "http"}, metadata={"description": "A public URL Meta downloads from."})
    id = fields.String(validate=validate.Length(min=1, max=255), metadata={"description": "A media id uploaded to Meta."})
    caption = fields.String(validate=validate.Length(max=1024))
    filename = fields.String(validate=validate.Length(max=255))

    @validates_schema
    def _link_or_id(self, data, **kwargs):
        if bool(data.get("link")) == bool(data.get("id")):
            raise ValidationError("Give exactly one of link and id.")
        if data.get("caption") and data["type"] in ("audio", "sticker"):
            raise ValidationError(f"A {data['type']} cannot have a caption.")
        if data.get("filename") and data["type"] != "document":
            raise ValidationError("Only a document has a filename.")


class SendMessageIn(Schema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=64),
                       metadata={"description": "The customer's phone number (international, digits) or a contact id."})
    from_ = fields.String(data_key="from", validate=validate.Length(min=1, max=64),
                          metadata={"description": "A phone_number_id of the product; default its first number."})
    text = fields.String(validate=validate.Length(min=1, max=4096))
    template = fields.Nested(TemplateIn)
    media = fields.Nested(MediaIn)

    @validates_schema
    def _one_kind(self, data, **kwargs):
        kinds = [k for k in ("text", "template", "media") if data.get(k)]
        if len(kinds) != 1:
            raise ValidationError("Give exactly one of text, template and media.")


class MessageAccepted(Schema):
    id = fields.UUID(required=True)
    status = fields.String(required=True, metadata={"description": "sent, or failed (then `error` says why)."})
    error = fields.Nested(ErrorBody, metadata={"description": "Present when Meta did not accept the message."})


# ---- reading ---------------------------------------------------------------------------------

class Media(Schema):
    id = fields.String(attribute="media_id")
    mime_type = fields.String(attribute="media_mime_type")
    filename = fields.String(attribute="media_filename")


class MessageOut(Schema):
    id = fields.UUID(required=True)
    conversation_id = fields.UUID(allow_none=True)
    wamid = fields.String(allow_none=True, metadata={"description": "WhatsApp's id (None until Meta accepted it)."})
    direction = fields.String(required=True, metadata={"description": "in (from the customer) or out."})
    type = fields.String(required=True)
    phone_number_id = fields.String(required=True, metadata={"description": "The product's number."})
    contact_wa_id = fields.String(allow_none=True, metadata={"description": "The customer's WhatsApp id."})
    text = fields.String(allow_none=True, metadata={"description": "Body or caption."})
    media = fields.Method("_media", allow_none=True, metadata={"type": "object"})
    context_wamid = fields.String(allow_none=True, metadata={"description": "The message this one replies to."})
    status = fields.String(allow_none=True, metadata={"description": "Outbound: pending, sent, delivered, read, failed."})
    error_code = fields.Integer(allow_none=True)
    error_title = fields.Method("_error_title", allow_none=True, metadata={
        "type": "string", "description": "Why it failed, in English (Meta's own words inside)."})
    sent_at = UTCDateTime(allow_none=True)
    status_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime(required=True)

    def _error_title(self, message):
        if isinstance(message, dict):  # a webhook's row (outgoing webhooks): Meta's own title as it came
            return message.get("error_title")
        from ..inbox.sending import error_for_machines

        return error_for_machines(message)

    def _media(self, message):
        media_id = _get(message, "media_id")
        if not media_id:
            return None
        return {"id": media_id, "mime_type": _get(message, "media_mime_type"), "filename": _get(message, "media_filename")}


class ContactOut(Schema):
    id = fields.UUID(required=True)
    wa_id = fields.String(required=True)
    profile_name = fields.String(allow_none=True)
    created_at = UTCDateTime(required=True)


class ConversationOut(Schema):
    id = fields.UUID(required=True)
    phone_number_id = fields.String(required=True)
    contact = fields.Nested(ContactOut, required=True)
    last_message_at = UTCDateTime(allow_none=True)
    last_inbound_at = UTCDateTime(allow_none=True, metadata={"description": "Opens the 24-hour window."})
    window_open = fields.Method("_window_open", required=True,
                                metadata={"type": "boolean", "description": "Text and media can be sent now."})
    last_message_preview = fields.String(allow_none=True)
    unread_count = fields.Integer(required=True)
    created_at = UTCDateTime(required=True)


    def _window_open(self, conversation) -> bool:
        from ..inbox.queries import window_closed
        from ..models import utcnow

        return not window_closed(conversation, utcnow())


def _page_of(item_schema, name):
    return type(name, (Schema,), {
        "data": fields.List(fields.Nested(item_schema), required=True),
        "next_cursor": fields.String(allow_none=True, required=True,
                                     metadata={"description": "Pass as ?cursor= for the next page; null at the end."}),
    })


ConversationPage = _page_of(ConversationOut, "ConversationPage")
MessagePage = _page_of(MessageOut, "MessagePage")
ContactPage = _page_of(ContactOut, "ContactPage")


class ListArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


class ConversationListArgs(ListArgs):
    number = fields.String(metadata={"description": "Only this phone_number_id of the product."})
    unread = fields.Boolean(metadata={"description": "true: only conversations with unread messages."})
    contact = fields.String(metadata={"description": "Only the conversations of this wa_id."})


class ContactListArgs(ListArgs):
    wa_id = fields.String(metadata={"description": "Only the contact with this WhatsApp id."})


def _get(obj, name):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
