"""Entry point for `flask --app app ...` (loads .env through python-dotenv)."""
from portal import create_app

app = create_app()
