"""
Single sign-on for the admin with an OpenID provider, on mozilla-django-oidc.

Nothing here is imported unless `GATEHOUSE_SSO` is set.
"""
