"""The demo account of the embedded default (`manage.py seed_demo`), and when the login page may
mention it: only with DEBUG on and only while the account exists."""

from django.conf import settings
from django.contrib.auth import get_user_model

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_TEAM = "Demo"


def demo_login_hint() -> dict | None:
    if not settings.DEBUG:
        return None
    if not get_user_model().objects.filter(username=DEMO_USERNAME, is_active=True).exists():
        return None
    return {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
