"""The peer a Python team would write instead: pywa 4.5 on Flask, one handler that maps the
number to its product and inserts the message into SQLite (WAL), one commit per message.

pywa checks the signature and reads entry[0].changes[0].messages[0] of each POST.
"""
import os
import sqlite3

from flask import Flask
from pywa import WhatsApp, types

app = Flask(__name__)
wa = WhatsApp(
    server=app, webhook_endpoint="/webhook", verify_token=os.environ["BENCH_VERIFY_TOKEN"],
    app_secret=os.environ["BENCH_APP_SECRET"], validate_updates=True,
)
_connection = None


def connection() -> sqlite3.Connection:
    global _connection
    if _connection is None:
        _connection = sqlite3.connect(os.environ["PEER_DB"], timeout=30)
        _connection.execute("PRAGMA journal_mode=WAL")
        _connection.execute("PRAGMA synchronous=NORMAL")
    return _connection


@wa.on_message
def store(client: WhatsApp, message: types.Message):
    db = connection()
    row = db.execute("SELECT product_id FROM accounts WHERE phone_number_id = ?", (message.metadata.phone_number_id,)).fetchone()
    if row is None:
        return
    db.execute(
        "INSERT INTO messages (product_id, wamid, wa_id, name, type, text, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (row[0], message.id, message.from_user.wa_id, message.from_user.name, str(message.type), message.text,
         message.timestamp.isoformat()),
    )
    db.commit()
