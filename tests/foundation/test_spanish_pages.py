"""The pages outside the inbox in Spanish (Accept-Language: es): nothing English left where people read,
the key words in Spanish, flashes, form errors and e-mails translated; the same pages in English unchanged."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invitation, Membership, User
from tests.english_left import english_left


def _html(response) -> str:
    return response.get_data(as_text=True)


def _spanish(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-BO,es;q=0.9"
    return client


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def es(client):
    return _spanish(client)


@pytest.fixture
def mailing_app(app_config, request):
    app_config.update(MAIL_BACKEND="locmem", MAIL_DEFAULT_SENDER="portal@example.com")
    return request.getfixturevalue("app")


# --- logged out --------------------------------------------------------------------------------

@pytest.mark.parametrize("path, words", [
    ("/login", ["Iniciar sesión", "¿Olvidaste tu contraseña?", "Contraseña"]),
    ("/password/forgot", ["¿Olvidaste tu contraseña?", "Envíame un enlace"]),
    ("/password/reset?t=nothing", ["Este enlace no se puede usar", "Pide uno nuevo"]),
    ("/invite?t=nothing", ["Este enlace no se puede usar", "no es válido"]),
])
def test_logged_out_pages_in_spanish(es, path, words):
    page = _html(es.get(path))
    assert english_left(page) == []
    for word in words:
        assert word in page


def test_logged_out_pages_in_english_unchanged(client):
    page = _html(client.get("/login"))
    assert "Log in" in page and "Forgot your password?" in page and "Password" in page
    assert "This invitation link is not valid. Ask for a new one." in _html(client.get("/invite?t=nothing"))


def test_a_wrong_login_flash_and_a_form_error_in_spanish(es):
    page = _html(es.get("/login"))
    wrong = es.post("/login", data={"csrf_token": _token(page), "email": "nobody@example.com", "password": "wrong one"})
    assert wrong.status_code == 401 and "Correo electrónico o contraseña incorrectos." in _html(wrong)
    empty = es.post("/login", data={"csrf_token": _token(page), "email": "", "password": ""})
    assert empty.status_code == 400
    errors = re.findall(r'<p class="field-error">([^<]+)</p>', _html(empty))
    assert errors and english_left(_html(empty)) == [] and all("required" not in e for e in errors)


def test_forgot_password_flash_and_reset_mail_in_the_users_own_language(mailing_app, request):
    make_user = request.getfixturevalue("make_user")
    user = make_user("ana@example.com")
    user.language = "es"
    db.session.commit()
    client = mailing_app.test_client()  # an English browser: the mail follows the user's own choice
    page = _html(client.get("/password/forgot"))
    answer = client.post("/password/forgot", data={"csrf_token": _token(page), "email": "ana@example.com"},
                         follow_redirects=True)
    assert "a reset link is on its way" in _html(answer)  # the page: the browser's language
    [message] = mailing_app.extensions["mailman"].outbox
    assert message.subject == "Restablece tu contraseña de Maestra"
    assert "Alguien (esperamos que tú) pidió restablecer" in message.body and "Si no fuiste tú" in message.body


def test_a_reset_mail_without_a_chosen_language_follows_the_request(mailing_app, request):
    request.getfixturevalue("make_user")("bo@example.com")
    client = _spanish(mailing_app.test_client())
    page = _html(client.get("/password/forgot"))
    answer = client.post("/password/forgot", data={"csrf_token": _token(page), "email": "bo@example.com"},
                         follow_redirects=True)
    assert "un enlace para restablecer la contraseña va en camino" in _html(answer)
    [message] = mailing_app.extensions["mailman"].outbox
    assert message.subject == "Restablece tu contraseña de Maestra"


def test_the_reset_page_and_its_mismatch_error_in_spanish(mailing_app, request):
    request.getfixturevalue("make_user")("cy@example.com")
    client = _spanish(mailing_app.test_client())
    page = _html(client.get("/password/forgot"))
    client.post("/password/forgot", data={"csrf_token": _token(page), "email": "cy@example.com"})
    link = re.search(r"(/password/reset\?t=\S+)", mailing_app.extensions["mailman"].outbox[0].body).group(1)
    reset = _html(client.get(link))
    assert english_left(reset) == [] and "Elige una contraseña nueva" in reset
    mismatch = client.post(link, data={"csrf_token": _token(reset), "password": "new password 1", "confirm": "x"})
    assert mismatch.status_code == 422 and "Las dos contraseñas no coinciden." in _html(mismatch)


# --- invitations -------------------------------------------------------------------------------

def _invite(client, auth, product, email=""):
    response = client.post(f"/p/{product.id}/members",
                           data={"csrf_token": auth.csrf_token(client), "email": email, "role": "agent"})
    assert response.status_code == 201
    return response


def test_the_invitation_mail_and_page_in_spanish(mailing_app, request):
    make_product, auth = request.getfixturevalue("make_product"), request.getfixturevalue("auth")
    client = _spanish(mailing_app.test_client())
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner", client=client)
    made = _invite(client, auth, product, email="eva@example.com")
    page = _html(made)
    assert english_left(page) == [] and "Invitación lista" in page and "Enviado por correo a" in page
    [message] = mailing_app.extensions["mailman"].outbox
    assert message.subject == "Únete a Cardio Plus en Maestra"
    assert "te invita a responder las conversaciones de WhatsApp de Cardio Plus en Maestra como agente" in message.body
    assert "Abre este enlace para unirte" in message.body

    path = "/invite?t=" + message.body.split("t=")[1].split()[0]
    visitor = _spanish(mailing_app.test_client())
    invitation = _html(visitor.get(path))
    assert english_left(invitation) == []
    assert "Unirme a Cardio Plus" in invitation and "Crea tu cuenta" in invitation and "<strong>agente</strong>" in invitation
    refused = visitor.post(path.split("?")[0], data={"csrf_token": _token(invitation), "t": path.split("t=")[1],
                                                     "password": "a fine password", "confirm": "another one"})
    assert refused.status_code == 422 and "Las dos contraseñas no coinciden." in _html(refused)


def test_the_invitation_mail_and_page_in_english_unchanged(mailing_app, request):
    make_product, auth = request.getfixturevalue("make_product"), request.getfixturevalue("auth")
    client = mailing_app.test_client()
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner", client=client)
    _invite(client, auth, product, email="eva@example.com")
    [message] = mailing_app.extensions["mailman"].outbox
    assert message.subject == "Join Cardio Plus on Maestra"
    assert "invites you to answer Cardio Plus's WhatsApp conversations on Maestra as agent." in message.body
    page = _html(client.get("/invite?t=" + message.body.split("t=")[1].split()[0]))
    assert "Join Cardio Plus" in page and "<strong>agent</strong>" in page and "The link works once, until" in page


# --- a product's pages -------------------------------------------------------------------------

def test_products_index_in_spanish(es, auth, make_product):
    user = auth.as_member(make_product("Cardio Plus"), "owner")
    make_product("Derma Sur", owner=db.session.get(User, user.id))  # two products: the list, not a redirect
    page = _html(es.get("/?all=1"))
    assert english_left(page) == [] and "Tus productos" in page and "Derma Sur" in page


def test_an_empty_products_index_in_spanish(es, auth, make_user):
    auth.login(make_user())
    page = _html(es.get("/"))
    assert english_left(page) == [] and "Aún no eres miembro de ningún producto" in page


def test_members_page_and_its_flashes_in_spanish(es, auth, make_product, make_user):
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    page = _html(es.get(f"/p/{product.id}/members"))
    assert english_left(page) == []
    assert "Equipo" in page or "Invitar a alguien" in page
    assert "Crear enlace de invitación" in page and ">Propietario</option>" in page and "Retirar" not in page
    _invite(es, auth, product)
    page = _html(es.get(f"/p/{product.id}/members"))
    assert english_left(page) == [] and "Invitaciones abiertas" in page and "Cualquiera con el enlace" in page
    invitation = db.session.query(Invitation).one()
    withdrawn = es.post(f"/p/{product.id}/invitations/{invitation.id}/revoke",
                        data={"csrf_token": auth.csrf_token()}, follow_redirects=True)
    assert "Invitación retirada: su enlace ya no funciona." in _html(withdrawn)
    bad = es.post(f"/p/{product.id}/members", data={"csrf_token": auth.csrf_token(), "role": "emperor"})
    assert bad.status_code == 400 and "Elige un rol" in _html(bad)


def test_the_remove_page_and_a_member_error_in_spanish(es, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, "admin")
    owner = db.session.query(Membership).filter_by(product_id=product.id, role="owner").one()
    confirm = _html(es.get(f"/p/{product.id}/members/{owner.id}/remove"))
    assert english_left(confirm) == [] and "¿Quitar a" in confirm and "Cancelar" in confirm
    refused = es.post(f"/p/{product.id}/members/{owner.id}/remove", data={"csrf_token": auth.csrf_token()},
                      follow_redirects=True)
    assert "Solo un propietario puede cambiar o quitar a un propietario." in _html(refused)


def test_members_page_in_english_unchanged(client, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    page = _html(client.get(f"/p/{product.id}/members"))
    assert "Invite someone" in page and "Create invitation link" in page and ">Owner</option>" in page


def test_audit_log_in_spanish_with_labels_for_known_actions(es, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    db.session.add_all([AuditEvent(product_id=product.id, action="member.invited", detail={"role": "agent"}),
                        AuditEvent(product_id=product.id, action="something.new", detail={})])
    db.session.commit()
    page = _html(es.get(f"/p/{product.id}/audit"))
    assert english_left(page) == []
    assert "Registro de auditoría" in page or "Quién" in page
    assert "Invitación creada" in page and "something.new" in page and "Meta / sistema" in page
    english = _html(es.get(f"/p/{product.id}/audit", headers={"Accept-Language": "en"}))
    assert "Invitation created" in english and "Who" in english


def test_the_channels_page_without_a_number_in_spanish(es, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    fragment = _html(es.get(f"/p/{product.id}/meta/status", headers={"HX-Request": "true"}))
    assert english_left(fragment) == []
    assert "Números de WhatsApp" in fragment and "Conectar con Meta" in fragment
    assert "Aún no hay ningún número de WhatsApp vinculado" in fragment
    assert "Canales" in _html(es.get(f"/p/{product.id}/channels"))
    english = _html(es.get(f"/p/{product.id}/meta/status", headers={"HX-Request": "true", "Accept-Language": "en"}))
    assert "No WhatsApp number is linked to this product yet." in english and "Connect with Meta" in english


def test_api_keys_page_and_its_error_and_flash_in_spanish(es, auth, make_product):
    product = make_product("Cardio Plus")
    auth.as_member(product, "owner")
    page = _html(es.get(f"/p/{product.id}/api-keys"))
    assert english_left(page) == [] and "Claves de API" in page and "Aún no hay claves." in page
    refused = es.post(f"/p/{product.id}/api-keys", data={"csrf_token": auth.csrf_token(), "name": ""})
    assert refused.status_code == 422 and "Dale a la clave un nombre" in _html(refused)
    made = es.post(f"/p/{product.id}/api-keys", data={"csrf_token": auth.csrf_token(), "name": "CRM"})
    page = re.sub(r"mst_[0-9a-f]+", "", _html(made))
    assert english_left(page) == [] and "Tu clave nueva" in page and "Revocar" in page and "nunca" in page
    key_id = re.search(r"/api-keys/([0-9a-f-]+)/revoke", _html(made)).group(1)
    revoked = es.post(f"/p/{product.id}/api-keys/{key_id}/revoke", data={"csrf_token": auth.csrf_token()},
                      follow_redirects=True)
    page = re.sub(r"mst_[0-9a-f]+", "", _html(revoked))  # the key's random prefix may spell "be"
    assert "revocada: deja de funcionar de inmediato" in page and english_left(page) == []


def test_api_reference_chrome_in_spanish(es, auth, make_product):
    auth.as_member(make_product(), "owner")
    page = _html(es.get("/api/v1/docs"))
    assert "Esquemas" in page and "Parámetro" in page and "El documento legible por máquinas" in page


@pytest.mark.parametrize("path, code, words", [
    ("/no-such-page", 404, ["No encontrado", "Volver a tus productos", "Error 404."]),
])
def test_error_pages_in_spanish(es, path, code, words):
    response = es.get(path)
    page = _html(response)
    assert response.status_code == code and english_left(page) == []
    for word in words:
        assert word in page


def test_error_pages_in_english_unchanged_and_json_stays_english(client):
    page = _html(client.get("/no-such-page"))
    assert "Not Found" in page and "The requested URL was not found on the server." in page
    answer = client.get("/no-such-page", headers={"Accept": "application/json", "Accept-Language": "es"})
    assert answer.get_json()["error"]["title"] == "Not Found"


def test_a_403_in_spanish(es, auth, make_product):
    product = make_product()
    auth.as_member(product, "agent")
    response = es.get(f"/p/{product.id}/api-keys")
    assert response.status_code == 403 and "Prohibido" in _html(response) and english_left(_html(response)) == []


def test_the_data_deletion_status_page_in_spanish(es):
    page = _html(es.get("/meta/data-deletion/nothing"))
    assert english_left(page) == [] and "Solicitud de eliminación de datos" in page


def test_meta_error_explanations_and_stored_reasons_are_translated_when_shown(app):
    from flask_babel import force_locale, gettext

    from portal.connect.status import expiry_text
    from portal.meta.send_errors import words_for

    with app.test_request_context():
        assert words_for(131051) == "WhatsApp does not support this kind of message."
        with force_locale("es"):
            assert words_for(131051) == "WhatsApp no admite este tipo de mensaje."
            assert words_for(1) is None
            assert gettext("Meta refused the token.") == "Meta rechazó el token."  # stored English, shown Spanish
            assert expiry_text(None) == "nunca"
