from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"

    def ready(self) -> None:
        from django.core import checks

        from connectors.checks import check_service_catalogue

        checks.register(check_service_catalogue, "connectors")
