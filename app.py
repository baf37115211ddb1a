"""Entry point for `flask --app app ...` (loads .env through python-dotenv)."""
from portal import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    # One line, as gunicorn prints it: Flask would show the import's whole traceback.
    raise SystemExit(f"maestra: cannot start: {error}") from None
