from django.core.management.base import BaseCommand

from access.roles import ROLES, sync_roles


class Command(BaseCommand):
    help = "Create the role groups and set their permissions to exactly the role definitions."

    def handle(self, *args, **options):
        counts = sync_roles()
        for role in ROLES:
            self.stdout.write(f"{role.name:<24} {counts[role.name]:>4} permissions  {role.description}")
