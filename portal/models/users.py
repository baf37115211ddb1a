"""People, products (the tenants) and who belongs to which product."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from functools import lru_cache

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint, Uuid, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import TenantScoped, utcnow, uuid_pk

ROLES = ("owner", "admin", "agent")
MANAGER_ROLES = ("owner", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # Part of the id in every session cookie (get_id); raising it ends the user's sessions.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    # The user's own choices; None means the browser's language and each product's time zone.
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))

    memberships: Mapped[list["Membership"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @staticmethod
    def normalize_email(email: str) -> str:
        return (email or "").strip().lower()

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the session version (see end_sessions)."""
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """Every session signed in before this (any browser, any copied cookie) is refused from now on."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        # scrypt with werkzeug's strong defaults; the test config lowers its cost (PASSWORD_HASH_METHOD).
        method = _hash_method()
        if self.password_hash:  # a changed password ends the sessions signed in with the old one
            self.end_sessions()
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def check_no_password(password: str) -> None:
        """Spend what checking a real password costs, for an email with no account, so the time
        of a login answer does not tell whether the email has one."""
        check_password_hash(_dummy_hash(_hash_method()), password)

    @classmethod
    def by_email(cls, email: str):
        return select(cls).where(func.lower(cls.email) == cls.normalize_email(email))

    def products(self):
        """The products this user is a member of, by name (the product switcher). Across products on
        purpose, on every page: the user's own memberships are the scope here, not the product in view."""
        return (
            select(Product)
            .join(Membership, Membership.product_id == Product.id)
            .where(Membership.user_id == self.id)
            .order_by(Product.name)
            .execution_options(all_products=True)
        )


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if current_app else "scrypt"


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    # IANA zone of the team: every time its pages show, its "today" and its charts.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC", nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Membership(TenantScoped, db.Model):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "product_id", name="uq_membership_user_product"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    user: Mapped[User] = relationship(back_populates="memberships")
    product: Mapped[Product] = relationship()

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES
