from flask_wtf import FlaskForm
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..i18n.forms import TimezoneField
from ..labels import ROLE_CHOICE_LABELS
from ..models import ROLES

ROLE_CHOICES = [(r, ROLE_CHOICE_LABELS[r]) for r in ROLES]


class AddMemberForm(FlaskForm):
    """An invitation: the role, and optionally the email it is for (then only that address can use it)."""

    email = EmailField(_l("Email (optional)"), validators=[Optional(), Email(check_deliverability=False), Length(max=320)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="agent")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class ProductSettingsForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    timezone = TimezoneField(_l("Time zone"))
