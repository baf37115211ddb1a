from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    # The validators' own messages come translated by WTForms' catalog (Flask-WTF's WTF_I18N_ENABLED).
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class EmptyForm(FlaskForm):
    """A bare POST button (logout, disconnect...) still carries a CSRF token."""
