from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Importers that span apps (Olist, Dominick's) and the demo set-up; nothing depends on this app."""

    name = "ingest"
    verbose_name = "Data import"
