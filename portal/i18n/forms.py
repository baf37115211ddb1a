"""The fields that choose a language and a time zone (a user's preferences, a product's settings)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import ValidationError

from .selection import LANGUAGES, is_timezone, timezone_choices


def check_timezone(form, field) -> None:
    if field.data and not is_timezone(field.data):
        raise ValidationError(_l("Choose a time zone from the list (for example America/La_Paz)."))


class TimezoneField(SelectField):
    """An IANA zone from the list; `blank` is the label of the empty choice (none for required)."""

    def __init__(self, label=None, blank=None, **kwargs):
        choices = ([("", blank)] if blank else []) + [(zone, zone) for zone in timezone_choices()]
        validators = [check_timezone, *kwargs.pop("validators", [])]
        super().__init__(label, choices=choices, validate_choice=False, validators=validators, **kwargs)


class PreferencesForm(FlaskForm):
    language = SelectField(_l("Language"), validate_choice=True)
    timezone = TimezoneField(_l("Time zone"), blank=_l("The product's time zone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [("", _l("The browser's language"))] + list(LANGUAGES.items())
