from django.apps import AppConfig


class PingConfig(AppConfig):
    name = "ping"
    verbose_name = "Ping API"
