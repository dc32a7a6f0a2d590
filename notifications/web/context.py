"""The unread count in every page's header (templates/base.html)."""

from django.utils.functional import SimpleLazyObject

from notifications.delivery.services import unread_count


def unread_notifications(request) -> dict:
    def count() -> int:
        user = request.user
        return unread_count(user=user) if user.is_authenticated else 0

    # Counted only when a template shows it: a fragment rendered inside an async view (the table
    # preview) never touches it (nor request.user, a query too): the ORM may not run on the loop.
    return {"unread_notifications": SimpleLazyObject(count)}
