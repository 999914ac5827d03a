from django.apps import AppConfig


class EcomopsConfig(AppConfig):
    name = "ecomops"
    verbose_name = "Platform: jobs and models"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        # Each app declares its job kinds (training, scoring, imports) in <app>/jobs.py.
        autodiscover_modules("jobs")
