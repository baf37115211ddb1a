"""The command line prints what it did and fails clearly on bad input."""
import uuid

from sqlalchemy import select

from portal.extensions import db
from portal.models import Membership, Product, User


def test_create_user_product_and_member(runner):
    result = runner.invoke(args=["users", "create", "Owner@Example.com", "--password", "long-enough"])
    assert result.exit_code == 0 and "created user owner@example.com" in result.output
    result = runner.invoke(args=["products", "create", "Cardio Plus", "--owner", "owner@example.com"])
    assert result.exit_code == 0
    product_id = uuid.UUID(result.output.strip())
    assert db.session.get(Product, product_id).name == "Cardio Plus"

    runner.invoke(args=["users", "create", "agent@example.com", "--password", "long-enough"])
    result = runner.invoke(args=["products", "add-member", str(product_id), "agent@example.com", "--role", "agent"])
    assert result.exit_code == 0 and "as agent" in result.output
    roles = db.session.execute(select(Membership.role).where(Membership.product_id == product_id)).scalars().all()
    assert sorted(roles) == ["agent", "owner"]


def test_bad_input_exits_non_zero_with_a_message(runner):
    runner.invoke(args=["users", "create", "a@example.com", "--password", "long-enough"])
    cases = [
        (["users", "create", "a@example.com", "--password", "long-enough"], "already exists"),
        (["users", "create", "not-an-email", "--password", "long-enough"], "not an email"),
        (["users", "create", "b@example.com", "--password", "short"], "at least 8"),
        (["products", "create", "X", "--owner", "ghost@example.com"], "no user with email"),
        (["products", "create", "  ", "--owner", "a@example.com"], "1 to 120 characters"),
        (["products", "add-member", "not-a-uuid", "a@example.com", "--role", "agent"], "no product with id"),
        (["products", "add-member", str(uuid.uuid4()), "a@example.com", "--role", "king"], "Invalid value"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert db.session.execute(select(User)).scalars().all()[0].email == "a@example.com"
    assert db.session.execute(select(Product)).first() is None
