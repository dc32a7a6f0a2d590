from django.contrib import admin
from django.db.models import Count

from teams.models import Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    # Deleting a team with integrations is refused here (the integration admin allows no delete):
    # the cascade would drop the rows but leave their Fivetran connections running and billed.
    list_display = ["name", "member_count", "integration_count", "created_at"]
    search_fields = ["name", "members__username", "members__email"]
    list_filter = ["created_at"]
    filter_horizontal = ["members"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        # distinct: two joined counts would otherwise multiply each other.
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("members", distinct=True), integration_count=Count("integrations", distinct=True))
        )

    @admin.display(description="members", ordering="member_count")
    def member_count(self, team):
        return team.member_count

    @admin.display(description="integrations", ordering="integration_count")
    def integration_count(self, team):
        return team.integration_count
