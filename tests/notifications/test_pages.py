"""The notifications list, mark read, the preferences page and the header's unread count: a person
sees only their own notifications of their own teams; another's answers 404. Also the raising
service against the database: one row per person and event, however often it runs."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from integrations.state.transitions import step_fail
from notifications.delivery.services import notifications_raise, unread_count
from notifications.models import Notification, NotificationPreference
from teams.models import Team
from tests.support.flow_fixtures import new_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_setup(team_user):
    team, user = team_user
    integration = new_integration(team, user, "hubspot")
    step = integration.steps.get(name="create_connection")
    step_fail(step.pk, code="Unauthorized", message="Invalid API key", retryable=True)
    return integration


def stranger():
    other = get_user_model().objects.create_user(username="stranger", password="pw")
    Team.objects.create(name="Other").members.add(other)
    return other


def test_raising_again_notifies_nobody_twice(failed_setup, team_user, django_capture_on_commit_callbacks):
    team, user = team_user
    with django_capture_on_commit_callbacks(execute=False) as rung:
        made = notifications_raise(integration_id=failed_setup.pk)
    assert [(n.user_id, n.kind) for n in made] == [(user.pk, "setup_failed")] and len(rung) == 1
    assert "Invalid API key" in made[0].body and made[0].link == f"/integrations/{failed_setup.pk}/flow/"
    with django_capture_on_commit_callbacks(execute=False) as rung:
        assert notifications_raise(integration_id=failed_setup.pk) == []
        assert notifications_raise(integration_id=failed_setup.pk) == []
    assert rung == [] and Notification.objects.count() == 1


def test_the_list_shows_ones_own_and_marks_read(client, failed_setup, team_user):
    team, user = team_user
    notifications_raise(integration_id=failed_setup.pk)
    notification = Notification.objects.get()
    client.force_login(user)
    page = client.get("/notifications/").content.decode()
    assert notification.title in page and 'data-role="unread-count">1<' in page
    client.post(f"/notifications/{notification.pk}/read/")
    notification.refresh_from_db()
    assert notification.read_at is not None and unread_count(user=user) == 0
    assert 'data-role="unread-count">0<' in client.get("/notifications/").content.decode()


def test_another_teams_notifications_are_not_visible(client, failed_setup, team_user):
    notifications_raise(integration_id=failed_setup.pk)
    notification = Notification.objects.get()
    client.force_login(stranger())
    assert notification.title not in client.get("/notifications/").content.decode()
    assert client.post(f"/notifications/{notification.pk}/read/").status_code == 404
    client.post("/notifications/read-all/")
    notification.refresh_from_db()
    assert notification.read_at is None


def test_a_member_who_left_the_team_no_longer_sees_its_notifications(client, failed_setup, team_user):
    team, user = team_user
    notifications_raise(integration_id=failed_setup.pk)
    team.members.remove(user)
    client.force_login(user)
    assert unread_count(user=user) == 0
    assert client.post(f"/notifications/{Notification.objects.get().pk}/read/").status_code == 404


def test_mark_all_read_without_javascript(client, failed_setup, team_user):
    team, user = team_user
    notifications_raise(integration_id=failed_setup.pk)
    client.force_login(user)
    answer = client.post("/notifications/read-all/", follow=True)
    assert "All notifications marked read." in answer.content.decode()
    assert unread_count(user=user) == 0


def test_preferences_default_to_everything_on_and_save_a_form_post(client, team_user):
    team, user = team_user
    client.force_login(user)
    page = client.get("/notifications/preferences/").content.decode()
    assert page.count(" checked") == 10  # five kinds, two channels
    posted = {"setup_ready.in_app": "on", "connection_broken.email": "on"}
    assert client.post("/notifications/preferences/", posted).status_code == 302
    chosen = {(p.kind, p.in_app, p.email) for p in NotificationPreference.objects.filter(user=user)}
    assert ("setup_ready", True, False) in chosen and ("connection_broken", False, True) in chosen
    assert ("syncs_failing", False, False) in chosen
    assert client.get("/notifications/preferences/").content.decode().count(" checked") == 2


def test_pages_need_a_login(client):
    assert client.get("/notifications/").status_code == 302
    assert client.get("/notifications/preferences/").status_code == 302


def test_the_admin_lists_them_with_filters_and_the_link(client, failed_setup):
    notifications_raise(integration_id=failed_setup.pk)
    admin = get_user_model().objects.create_superuser(username="staff", password="pw", email="staff@example.com")
    client.force_login(admin)
    page = client.get("/admin/notifications/notification/?kind__exact=setup_failed&read_at__isnull=True")
    html = page.content.decode()
    assert page.status_code == 200 and Notification.objects.get().title in html
    assert f'<a href="{settings.PUBLIC_URL}/integrations/{failed_setup.pk}/flow/">' in html
