import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from fmis.platform import outbox


class Command(BaseCommand):
    help = "Deliver pending outbox messages whose topic has a sender in this process."

    def add_arguments(self, parser):
        parser.add_argument("--topic", default=None)
        parser.add_argument("--limit", type=int, default=1000)
        parser.add_argument("--every", type=float, default=0,
                            help="keep running, delivering every N seconds (until SIGTERM or Ctrl-C)")

    def handle(self, *args, topic=None, limit=1000, every=0, **options):
        if not every:
            sent, failed = outbox.deliver(topic=topic, limit=limit)
            self.stdout.write(f"sent {sent}, failed {failed}")
            return
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        try:
            while not stopping:
                close_old_connections()
                try:
                    sent, failed = outbox.deliver(topic=topic, limit=limit)
                    if sent or failed:
                        self.stdout.write(f"outbox: sent {sent}, failed {failed}")
                        self.stdout.flush()
                except Exception as exc:  # noqa: BLE001 - keep the loop alive; the next round retries
                    self.stderr.write(f"outbox: {type(exc).__name__}: {exc}")
                time.sleep(every)
        except KeyboardInterrupt:
            pass
