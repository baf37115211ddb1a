"""`make run`: migrate, seed the demo, and start the portal and the Meta sandbox together.

Run as `PORTAL_ENV=demo python -m portal.demo`. Both are threaded werkzeug
servers in this one process, and the worker (`flask work`: the webhook journal
and every job) runs beside them as a process of its own, as in production;
Ctrl-C (or SIGTERM) stops all three. The portal talks
to the sandbox only through its configuration (META_GRAPH_URL, META_DIALOG_URL
default to the sandbox in demo mode), as it would talk to Meta.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import make_server

from . import create_app
from .config import DEMO_HOST, ConfigError, demo_port, demo_url
from .extensions import db
from .models import Membership, Product, User
from .products.members import create_product

HOST = DEMO_HOST
DEMO_PASSWORD = "maestra-demo"
DEMO_PRODUCTS = (("Cardio Plus", "cardio@demo.maestra"), ("Flex 60", "flex@demo.maestra"))
DEMO_TIMEZONE = "America/La_Paz"  # the teams this portal was first described for sell on Bolivian numbers
# A Spanish-speaking agent of Cardio Plus: the whole portal in Spanish whatever the browser says.
DEMO_AGENT = ("agente@demo.maestra", "Cardio Plus", "es")


def _demo_user(email: str, language: str | None = None) -> User:
    user = db.session.execute(User.by_email(email)).scalar_one_or_none()
    if user is None:
        user = User(email=email, language=language)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    return user


def seed() -> list[tuple[str, str]]:
    """Two products in La Paz time with one owner each, and a Spanish-speaking agent; idempotent.
    Returns (who, email) pairs."""
    for name, email in DEMO_PRODUCTS:
        user = _demo_user(email)
        if db.session.execute(select(Product).where(Product.name == name)).first() is None:
            create_product(name, user, DEMO_TIMEZONE)
    email, product_name, language = DEMO_AGENT
    agent = _demo_user(email, language)
    product = db.session.execute(select(Product).where(Product.name == product_name)).scalar_one()
    if not db.session.execute(select(Membership).where(Membership.user_id == agent.id)
                              .execution_options(all_products=True)).first():
        db.session.add(Membership(product_id=product.id, user_id=agent.id, role="agent"))
    db.session.commit()
    return [*DEMO_PRODUCTS, (f"{product_name} (agente, español)", email)]


class ServerThread(threading.Thread):
    """One threaded werkzeug server; `stop()` shuts it down cleanly."""

    def __init__(self, app, port: int, name: str):
        super().__init__(name=name, daemon=True)
        self.server = make_server(HOST, port, app, threaded=True)  # OSError when the port is taken
        self.url = f"http://{HOST}:{self.server.server_port}"

    def run(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def build_sandbox(instance_path: str):
    """The sandbox app, keeping its state next to the portal's demo database."""
    from .sandbox import create_app as create_sandbox

    return create_sandbox({
        "PORTAL_ENV": "demo",
        "PORTAL_WEBHOOK_URL": os.environ.get("PORTAL_WEBHOOK_URL") or f"{demo_url('PORTAL_PORT')}/webhook",
        "SANDBOX_STATE_FILE": os.environ.get("SANDBOX_STATE_FILE", str(Path(instance_path) / "sandbox-state.json")),
        # The demo's person plays Meta's reviewer on the sandbox's templates page.
        "SANDBOX_TEMPLATE_REVIEW": os.environ.get("SANDBOX_TEMPLATE_REVIEW", "manual"),
    })


def start_worker() -> subprocess.Popen:
    """`flask work` for the demo: stores what the sandbox delivers and runs the jobs."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal:create_app", "work"],
                            cwd=str(Path(__file__).resolve().parent.parent), start_new_session=True)


def main() -> int:
    if os.environ.get("PORTAL_ENV") != "demo":
        print("portal.demo runs only with PORTAL_ENV=demo", file=sys.stderr)
        return 2
    try:
        portal_port, sandbox_port = demo_port("PORTAL_PORT"), demo_port("SANDBOX_PORT")
        app = create_app()  # its Meta URLs point at SANDBOX_PORT (portal/config.py)
    except ConfigError as error:
        print(f"cannot start the demo: {error}", file=sys.stderr)
        return 2
    with app.app_context():
        upgrade()
        logins = seed()
    sandbox = build_sandbox(app.instance_path)
    try:
        servers = [ServerThread(sandbox, sandbox_port, "sandbox"), ServerThread(app, portal_port, "portal")]
    except OSError as error:
        print(f"cannot start the demo: {error} (set PORTAL_PORT / SANDBOX_PORT to free ports)", file=sys.stderr)
        return 1
    sandbox_server, portal_server = servers
    if app.config["META_GRAPH_URL"] != sandbox_server.url:
        print(f"note: META_GRAPH_URL is {app.config['META_GRAPH_URL']}, not this sandbox ({sandbox_server.url})")

    print("\nMaestra demo")
    print(f"  portal:          {portal_server.url}")
    print(f"  Meta sandbox:    {sandbox_server.url}/phone  (customer phone)")
    print(f"                   {sandbox_server.url}/controls  (tokens, quality, webhook log)")
    for name, email in logins:
        print(f"  {name:<12} log in as {email} / {DEMO_PASSWORD}")
    print("  Connect a product with Meta, pick a sandbox business, then write as a customer.")
    print("  Ctrl-C stops both.\n", flush=True)

    stopping = threading.Event()
    # Handled explicitly: a shell may start us with SIGINT ignored (background jobs), and Ctrl-C must still stop.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stopping.set())
    for server in servers:
        server.start()
    worker = start_worker()
    while not stopping.wait(0.5):
        if worker.poll() is not None:
            print(f"the worker stopped (exit {worker.returncode}); starting it again", flush=True)
            worker = start_worker()
    print("\nstopping the portal, the sandbox and the worker...", flush=True)
    worker.terminate()  # SIGTERM: it finishes the batch it is storing
    for server in servers:
        server.stop()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    sandbox.extensions["sandbox"].dispatcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
