from django.core.management.base import BaseCommand, CommandError

from fmis.platform import audit


def _anchor(text: str) -> tuple[int, str]:
    rid, _, digest = text.partition(":")
    if not rid.isdigit() or len(digest) != 64:
        raise CommandError(f"--anchor must be ID:SHA256HEX, not {text!r}")
    return int(rid), digest.lower()


class Command(BaseCommand):
    help = ("Verify the audit log's hash chain; report the first broken record. Exit status 0 when the "
            "chain is intact, 1 when it is broken.")

    def add_arguments(self, parser):
        parser.add_argument("--anchor", action="append", default=[], type=_anchor, metavar="ID:HASH",
                            help="a record id and hash kept elsewhere (see --head); may be repeated")
        parser.add_argument("--head", action="store_true", help="also print the newest record's ID:HASH")

    def handle(self, *args, anchor=(), head=False, **options):
        result = audit.verify(anchors=dict(anchor))
        if not result.ok:
            self.stderr.write(str(result))
            raise SystemExit(1)
        self.stdout.write(str(result))
        if head:
            h = audit.head()
            self.stdout.write(f"head: {h[0]}:{h[1]}" if h else "head: (empty)")
