from django.contrib import admin

from scopes.models import Scope


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ["value", "api", "description"]
    list_filter = ["api"]
    list_select_related = ["api"]
    search_fields = ["value", "description", "api__name", "api__identifier"]
    ordering = ["api__name", "value"]
