"""setup_feedback: seed topic keywords and reply templates, create the customer-service group."""

from django.core.management.base import BaseCommand

from feedback.services import topic_keywords_seed
from feedback.services_queue import customer_service_group_setup, reply_templates_seed


class Command(BaseCommand):
    help = "Seed the editable topic keywords and reply templates (existing rows are kept) and the agents' group."

    def handle(self, *args, **options):
        keywords = topic_keywords_seed()
        templates = reply_templates_seed()
        group = customer_service_group_setup()
        self.stdout.write(
            f"{keywords} topic keywords and {templates} reply templates created; group '{group.name}' has "
            f"{group.permissions.count()} permissions"
        )
