from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.validators import Email, Length, Optional

from ..models import ROLES

ROLE_CHOICES = [(r, r.capitalize()) for r in ROLES]


class AddMemberForm(FlaskForm):
    """An invitation: the role, and optionally the email it is for (then only that address can use it)."""

    email = EmailField("Email (optional)", validators=[Optional(), Email(check_deliverability=False), Length(max=320)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="agent")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
