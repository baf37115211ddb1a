"""Operations: health endpoints, request ids, JSON access log without secrets."""
import json
import logging

from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.observability import JsonFormatter, redact


def test_healthz_and_readyz_need_no_login(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok", "webhook_backlog": 0}


def test_readyz_answers_503_when_the_database_is_down(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert len(made) == 32 and " " not in made


def test_access_log_is_one_json_line_without_query_string(client, caplog):
    with caplog.at_level(logging.INFO, logger="maestra.access"):
        client.get("/login?code=SECRETCODE&state=xyz", headers={"X-Request-ID": "req-1"})
    record = next(r for r in caplog.records if r.name == "maestra.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["path"] == "/login" and line["status"] == 200 and line["method"] == "GET"
    assert "SECRETCODE" not in json.dumps(line)


def test_redaction_masks_tokens_and_secrets(app):
    secret = app.config["META_APP_SECRET"]
    text = redact(f"token EAAGabcdefghijklmnopqrstuvwxyz123 and Bearer abcdefghijkl and access_token=xyz123 and {secret}")
    assert "EAAGabcdefghijklmnop" not in text and "abcdefghijkl" not in text and "xyz123" not in text
    assert secret not in text
