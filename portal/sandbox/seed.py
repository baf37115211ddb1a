"""The sandbox's test businesses and customers: fixed ids, so a demo restart finds them again.

Each business has its own Meta user (who authorises in the dialog), one or more
WhatsApp Business Accounts (WABAs) and one or more phone numbers.
"""
from __future__ import annotations

# (business id, name, Meta user id, user name, [(WABA id, WABA name, [(phone id, display, verified name, platform)])])
BUSINESSES = (
    ("2100000000000001", "Cardio Plus Health", "5100000000000001", "Marta Salinas", [
        ("3100000000000001", "Cardio Plus Health", [
            ("4100000000000001", "+1 555-010-1001", "Cardio Plus", "CLOUD_API"),
        ]),
    ]),
    ("2100000000000002", "Flex 60 Fitness", "5100000000000002", "Jorge Vaca", [
        ("3100000000000002", "Flex 60", [
            ("4100000000000002", "+1 555-010-2001", "Flex 60", "CLOUD_API"),
            ("4100000000000003", "+1 555-010-2002", "Flex 60 Coaching", "CLOUD_API"),
        ]),
    ]),
    ("2100000000000003", "Acme Support", "5100000000000003", "Lena Ortiz", [
        ("3100000000000003", "Acme Support EU", [
            ("4100000000000004", "+1 555-010-3001", "Acme Support", "CLOUD_API"),
        ]),
        # Not yet on the Cloud API: POST /{id}/register moves it there.
        ("3100000000000004", "Acme Support US", [
            ("4100000000000005", "+1 555-010-3002", "Acme Support US", "NOT_APPLICABLE"),
        ]),
    ]),
)

# Customers who can write to any number (wa_id, profile name).
CUSTOMERS = (
    ("15551230001", "Ana Rojas"),
    ("15551230002", "Bruno Díaz"),
    ("15551230003", "Camila Torres"),
    ("15551230004", "Diego Flores"),
    ("15551230005", "Elena Quispe"),
)

# WhatsApp usernames (2026): shown instead of the phone number in the app.
USERNAMES = {"15551230002": "bruno.diaz", "15551230005": "elena.q"}

# Customers who hide their phone number behind their username: today's webhooks carry only
# their business-scoped user id (the legacy shape, from before usernames, still shows the number).
PHONE_HIDDEN = frozenset({"15551230005"})

# Every WABA starts with Meta's sample template, approved (as new accounts do at Meta).
SAMPLE_TEMPLATES = (
    ("hello_world", "en_US", "UTILITY", [
        {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
        {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a "
                                 "WhatsApp message notification from the Cloud API, hosted by Meta. Thank you "
                                 "for taking the time to test with us."},
        {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
    ]),
)
