"""`make run`: migrate, seed the demo, and start the portal (demo mode only).

Run as `PORTAL_ENV=demo python -m portal.demo`.
"""
from __future__ import annotations

import os
import sys

from flask_migrate import upgrade
from sqlalchemy import select

from . import create_app
from .extensions import db
from .models import Product, User
from .products.members import create_product

PORTAL_PORT = int(os.environ.get("PORTAL_PORT", "5000"))
DEMO_PASSWORD = "maestra-demo"
DEMO_PRODUCTS = (("Cardio Plus", "cardio@demo.maestra"), ("Flex 60", "flex@demo.maestra"))


def seed() -> list[tuple[str, str]]:
    """Two products with one owner each; idempotent. Returns (product, email) pairs."""
    for name, email in DEMO_PRODUCTS:
        user = db.session.execute(User.by_email(email)).scalar_one_or_none()
        if user is None:
            user = User(email=email)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        if db.session.execute(select(Product).where(Product.name == name)).first() is None:
            create_product(name, user)
    db.session.commit()
    return list(DEMO_PRODUCTS)


def main() -> int:
    if os.environ.get("PORTAL_ENV") != "demo":
        print("portal.demo runs only with PORTAL_ENV=demo", file=sys.stderr)
        return 2
    app = create_app()
    with app.app_context():
        upgrade()
        logins = seed()
    print("\nMaestra demo")
    print(f"  portal:  http://127.0.0.1:{PORTAL_PORT}")
    for name, email in logins:
        print(f"  {name:<12} log in as {email} / {DEMO_PASSWORD}")
    print("  Ctrl-C stops.\n", flush=True)
    app.run(host="127.0.0.1", port=PORTAL_PORT, debug=False, use_reloader=False, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
