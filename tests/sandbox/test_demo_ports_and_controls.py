"""Issue 19, items 14-16: the demo on other ports, the dialog choosing no business for you, and
a control that ages a conversation so the 24-hour window can be shown closing."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from portal import create_app as create_portal
from portal import demo
from portal.config import ConfigError, load_config
from portal.sandbox import create_app as create_sandbox
from portal.sandbox.__main__ import cli

from .conftest import ANA, CARDIO, CARDIO_PHONE, V, csrf_from, customer_says, dialog_params
from .test_graph import _error, _send
from .test_pages_and_cli import live_sandbox  # noqa: F401 (a fixture)

ALL_DEMO_URLS = ("META_GRAPH_URL", "META_DIALOG_URL", "PORTAL_WEBHOOK_URL", "SANDBOX_URL")


@pytest.fixture
def other_ports(monkeypatch):
    for key in ALL_DEMO_URLS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PORTAL_PORT", "5190")
    monkeypatch.setenv("SANDBOX_PORT", "5191")


# --- 14: every demo URL follows PORTAL_PORT / SANDBOX_PORT ------------------------------------

def test_the_portal_reaches_the_sandbox_on_sandbox_port(other_ports, tmp_path):
    config = load_config(str(tmp_path), {"PORTAL_ENV": "demo", "DATABASE_URL": "sqlite://"})
    assert config["META_GRAPH_URL"] == "http://127.0.0.1:5191"
    assert config["META_DIALOG_URL"] == "http://127.0.0.1:5191"


def test_the_sandbox_posts_to_the_portal_on_portal_port(other_ports, tmp_path):
    for sandbox in (demo.build_sandbox(str(tmp_path)), create_sandbox({"PORTAL_ENV": "demo"})):
        try:
            assert sandbox.config["PORTAL_WEBHOOK_URL"] == "http://127.0.0.1:5190/webhook"
        finally:
            sandbox.extensions["sandbox"].dispatcher.stop()


def test_default_ports_are_5000_and_5001(monkeypatch, tmp_path):
    for key in ALL_DEMO_URLS + ("PORTAL_PORT", "SANDBOX_PORT"):
        monkeypatch.delenv(key, raising=False)
    config = load_config(str(tmp_path), {"PORTAL_ENV": "demo", "DATABASE_URL": "sqlite://"})
    assert config["META_GRAPH_URL"] == "http://127.0.0.1:5001"
    sandbox = create_sandbox({"PORTAL_ENV": "demo"})
    sandbox.extensions["sandbox"].dispatcher.stop()
    assert sandbox.config["PORTAL_WEBHOOK_URL"] == "http://127.0.0.1:5000/webhook"


def test_a_port_that_is_not_a_number_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SANDBOX_PORT", "50o1")
    with pytest.raises(ConfigError, match="SANDBOX_PORT must be a port number"):
        create_portal({"PORTAL_ENV": "demo", "DATABASE_URL": "sqlite://"})


def test_the_sandbox_cli_follows_sandbox_port(live_sandbox, monkeypatch):  # noqa: F811
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    monkeypatch.setenv("SANDBOX_PORT", live_sandbox.rsplit(":", 1)[1])
    listing = CliRunner().invoke(cli, ["world"])  # no --sandbox-url: found on SANDBOX_PORT
    assert listing.exit_code == 0, listing.output
    assert "Cardio Plus Health" in listing.output


# --- 15: the OAuth dialog chooses nothing for the person ----------------------------------------

def test_the_dialog_preselects_no_business(sbx):
    html = sbx.get(f"{V}/dialog/oauth", query_string=dialog_params()).get_data(as_text=True)
    radios = [line for line in html.splitlines() if 'name="business_id"' in line]
    assert len(radios) == 3
    assert not any("checked" in radio for radio in radios)
    assert all("required" in radio for radio in radios)
    assert "formnovalidate" in html  # Cancel still works without a choice


# --- 16: ageing a conversation closes the 24-hour window ----------------------------------------

def test_the_phone_page_ages_the_last_customer_message(sbx, meta, box):
    token = meta.token_for(CARDIO, scope=None, config_id="555")
    customer_says(box, CARDIO_PHONE, ANA)
    assert _send(meta, token, CARDIO_PHONE).status_code == 200
    page = sbx.get("/phone", query_string={"number": CARDIO_PHONE, "customer": ANA}).get_data(as_text=True)
    assert "Age the customer" in page
    done = sbx.post("/phone/age", data={"csrf_token": csrf_from(page), "number": CARDIO_PHONE, "customer": ANA,
                                        "hours": "25"}, follow_redirects=True)
    assert "24-hour window is closed" in done.get_data(as_text=True)
    assert not box.world.window_open(CARDIO_PHONE, ANA)
    assert _error(_send(meta, token, CARDIO_PHONE))["code"] == 131047
    customer_says(box, CARDIO_PHONE, ANA)  # the customer writes again: open again
    assert _send(meta, token, CARDIO_PHONE).status_code == 200


def test_the_api_and_cli_age_a_conversation(live_sandbox, box):  # noqa: F811
    customer_says(box, CARDIO_PHONE, ANA)
    runner = CliRunner()
    kept_open = runner.invoke(cli, ["--sandbox-url", live_sandbox, "age", "--number", CARDIO_PHONE, "--from", ANA,
                                    "--hours", "23"])
    assert kept_open.exit_code == 0, kept_open.output
    assert "window is open" in kept_open.output and box.world.window_open(CARDIO_PHONE, ANA)
    closed = runner.invoke(cli, ["--sandbox-url", live_sandbox, "age", "--number", CARDIO_PHONE, "--from", ANA])
    assert closed.exit_code == 0, closed.output
    assert "window is closed" in closed.output and not box.world.window_open(CARDIO_PHONE, ANA)


def test_ageing_a_conversation_that_never_started_is_a_clear_400(sbx):
    answer = sbx.post("/api/age", json={"number": CARDIO_PHONE, "from": ANA})
    assert answer.status_code == 400 and "has not written" in answer.json["error"]
    assert sbx.post("/api/age", json={"number": CARDIO_PHONE, "from": ANA, "hours": "soon"}).status_code == 400
    assert sbx.post("/api/age", json={"number": "42", "from": ANA}).status_code == 400
