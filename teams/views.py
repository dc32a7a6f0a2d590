from django.contrib.auth import views as auth_views

from teams.demo import demo_login_hint


class LoginView(auth_views.LoginView):
    """Django's login page, which names the demo account when there is one to try (DEBUG only)."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "demo": demo_login_hint()}
