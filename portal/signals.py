"""Signals between features, so one need not import another.

numbers_linked: sent by the connect flow after its transaction commits, with
`product_id` and `phone_number_ids`; the webhook feature replays events it
kept for those numbers before they were linked.
"""
from blinker import Namespace

_signals = Namespace()

numbers_linked = _signals.signal("numbers-linked")
