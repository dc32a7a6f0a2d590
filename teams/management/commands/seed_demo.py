from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from teams.demo import DEMO_PASSWORD, DEMO_TEAM, DEMO_USERNAME
from teams.models import Team


class Command(BaseCommand):
    help = "Create the demo user (demo/demo) in the team Demo. Only with DEBUG on; safe to re-run."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: no demo account created.")
            return
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
        team.members.add(user)
        self.stdout.write(f"Demo account ready: log in as demo / demo ({'created' if created else 'exists'}).")
