from django.core.management.base import BaseCommand

from fmis.platform import audit


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; report the first broken record."

    def handle(self, *args, **options):
        result = audit.verify()
        if result.ok:
            self.stdout.write(f"OK: {result.checked} audit records verified")
            return
        self.stdout.write(f"BROKEN at audit record id={result.broken_id}: {result.reason} "
                          f"({result.checked} records before it verified)")
        raise SystemExit(1)
