from django import forms

from apis.models import API, Application, Scope


class MintForm(forms.Form):
    """Choose an authorized application and a subset of its granted scopes."""

    application = forms.ModelChoiceField(
        queryset=Application.objects.none(),
        empty_label=None,
        help_text="Applications authorized for this API; its Test Application first.",
    )
    scopes = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for a token without scopes.",
    )

    def __init__(self, *args, api, **kwargs):
        super().__init__(*args, **kwargs)
        self.api = api
        self.grants = {
            grant.application_id: grant
            for grant in api.grants.select_related("application").prefetch_related(
                "scopes"
            )
        }
        authorized = Application.objects.filter(pk__in=self.grants)
        # The Test Application first, then by name.
        test_first = sorted(
            authorized, key=lambda app: (app.pk != api.test_application_id, app.name)
        )
        self.fields["application"].queryset = authorized
        self.fields["application"].choices = [
            (app.pk, app.name + ("" if app.active else " (inactive)"))
            for app in test_first
        ]
        self.fields["scopes"].choices = [
            (scope.value, scope.value) for scope in api.scopes.order_by("value")
        ]
        if test_first and not self.is_bound:
            # Without JavaScript, the page starts with the first application
            # and every scope it is granted.
            self.initial["application"] = test_first[0].pk
            self.initial["scopes"] = sorted(self.granted_scopes(test_first[0]))

    def granted_scopes(self, application):
        grant = self.grants.get(application.pk)
        return {scope.value for scope in grant.scopes.all()} if grant else set()

    def scope_map(self):
        """Return {application id: [granted scope values]}, for the page's script."""
        return {
            str(app_id): sorted(scope.value for scope in grant.scopes.all())
            for app_id, grant in self.grants.items()
        }

    def clean(self):
        cleaned_data = super().clean()
        application = cleaned_data.get("application")
        scopes = cleaned_data.get("scopes") or []
        if application is not None:
            not_granted = sorted(set(scopes) - self.granted_scopes(application))
            if not_granted:
                self.add_error(
                    "scopes",
                    f"{application.name} is not granted {', '.join(not_granted)}. "
                    f"Grant them on the Applications tab first.",
                )
        return cleaned_data


# The scopes of one API, added, edited and deleted together.
ScopeFormSet = forms.inlineformset_factory(
    API,
    Scope,
    fields=["value", "description"],
    extra=1,
    can_delete=True,
    widgets={"description": forms.TextInput(attrs={"size": 60})},
)
