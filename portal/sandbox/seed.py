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
)
