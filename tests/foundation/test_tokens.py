"""Tokens at rest: encrypted by the column type; `tokens rotate` moves them to a new key."""
from cryptography.fernet import Fernet
from sqlalchemy import text

from portal import create_app
from portal.extensions import db
from portal.models import WhatsAppAccount

TOKEN = "EAAG-secret-token-value-1234567890"


def _account(product) -> WhatsAppAccount:
    account = WhatsAppAccount(
        product_id=product.id, phone_number_id="111", business_account_id="222",
        access_token=TOKEN, oauth_access_token=TOKEN + "-oauth",
    )
    db.session.add(account)
    db.session.commit()
    return account


def _raw_row(account_id):
    return db.session.execute(
        text("SELECT access_token, oauth_access_token FROM whatsapp_accounts WHERE id = :id"),
        {"id": account_id.hex if db.engine.dialect.name == "sqlite" else account_id},
    ).one()


def _invoke_with_keys(app_config, keys, args):
    """Run a command in another app (other keys) on the same database."""
    other = create_app({**app_config, "TOKEN_ENCRYPTION_KEYS": keys})
    with other.app_context():
        result = other.test_cli_runner().invoke(args=args)
        db.session.remove()
        db.engine.dispose()
    return result


def test_stored_bytes_never_contain_the_token(app, make_product):
    account = _account(make_product())
    raw = _raw_row(account.id)
    assert TOKEN not in raw.access_token and TOKEN not in raw.oauth_access_token
    assert Fernet(app.config["TOKEN_ENCRYPTION_KEYS"][0]).decrypt(raw.access_token.encode()).decode() == TOKEN
    db.session.expire_all()
    assert db.session.get(WhatsAppAccount, account.id).access_token == TOKEN


def test_rotate_then_drop_the_old_key(app, app_config, make_product):
    account_id = _account(make_product()).id
    db.session.expunge_all()  # the test's session must not reload rows with the old key
    old_key = app.config["TOKEN_ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()

    result = _invoke_with_keys(app_config, f"{new_key},{old_key}", ["tokens", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 token(s)" in result.output

    raw = _raw_row(account_id)
    assert Fernet(new_key).decrypt(raw.access_token.encode()).decode() == TOKEN
    new_only = create_app({**app_config, "TOKEN_ENCRYPTION_KEYS": new_key})
    with new_only.app_context():
        assert db.session.get(WhatsAppAccount, account_id).access_token == TOKEN
        db.session.remove()


def test_rotate_without_the_old_key_changes_nothing(app, app_config, make_product):
    account = _account(make_product())
    before = _raw_row(account.id)
    result = _invoke_with_keys(app_config, Fernet.generate_key().decode(), ["tokens", "rotate"])
    assert result.exit_code != 0
    assert "cannot be decrypted" in result.output and "nothing was changed" in result.output
    assert TOKEN not in result.output
    assert _raw_row(account.id) == before


def test_wiped_token_is_stored_as_empty(app, make_product):
    account = _account(make_product())
    account.access_token = ""
    db.session.commit()
    assert _raw_row(account.id).access_token == ""
    assert not account.has_token
