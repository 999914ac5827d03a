from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Roles (groups with exactly their permissions), API keys and personal-data masking."""

    name = "access"
    verbose_name = "Access and privacy"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import audit
        from .roles import sync_roles_after_migrate

        # Permissions only exist after post_migrate has run for every app, so roles are synced there
        # (a plain data migration would run before later apps' permissions are created).
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="access.sync_roles")
        audit.connect()
