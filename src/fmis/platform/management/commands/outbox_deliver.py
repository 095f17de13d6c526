from django.core.management.base import BaseCommand

from fmis.platform import outbox


class Command(BaseCommand):
    help = "Deliver pending outbox messages whose topic has a sender in this process."

    def add_arguments(self, parser):
        parser.add_argument("--topic", default=None)
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, topic=None, limit=1000, **options):
        sent, failed = outbox.deliver(topic=topic, limit=limit)
        self.stdout.write(f"sent {sent}, failed {failed}")
