"""The notifications list and the preferences page. Thin: load through the team access check,
call a service, render. The forms are plain POSTs that work without JavaScript."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications.delivery import services
from notifications.kinds import KIND_EXPLANATIONS, KIND_LABELS, NotificationKind
from teams.access import team_object_or_404

PER_PAGE = 30


@login_required
@require_GET
def notification_list(request):
    page = Paginator(services.visible_notifications(user=request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_POST
def notification_read(request, pk: int):
    notification = team_object_or_404(services.visible_notifications(user=request.user), request.user, pk=pk)
    services.notification_mark_read(notification=notification)
    return redirect("notifications:list")


@login_required
@require_POST
def notifications_read_all(request):
    marked = services.notifications_mark_all_read(user=request.user)
    messages.success(request, "All notifications marked read." if marked else "Nothing was unread.")
    return redirect("notifications:list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    if request.method == "POST":
        choices = {
            kind.value: {channel: request.POST.get(f"{kind.value}.{channel}") == "on" for channel in ("in_app", "email")}
            for kind in NotificationKind
        }
        services.preferences_update(user=request.user, choices=choices)
        messages.success(request, "Saved: your notifications follow these choices from now on.")
        return redirect("notifications:preferences")
    rows = [
        {**row, "label": KIND_LABELS[NotificationKind(row["kind"])], "explanation": KIND_EXPLANATIONS[NotificationKind(row["kind"])]}
        for row in services.preferences_of(user=request.user)
    ]
    return render(request, "notifications/preferences.html", {"rows": rows, "has_email": bool(request.user.email)})
