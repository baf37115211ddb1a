"""The ceiling: a bare Flask app that reads the body and answers 200 (no signature, no storage)."""
from flask import Flask, request

app = Flask(__name__)


@app.post("/webhook")
def webhook():
    request.get_data()
    return "ok"


@app.get("/webhook")
def ready():
    return "ok"
