"""``fmis manage banksim --port P --callback URL --token T [--fail-rate x] [--partial-rate y] [--seed n]``"""

from __future__ import annotations

import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from fmis.banksim.server import serve


class Command(BaseCommand):
    help = "Run the agent bank simulator: accepts voucher messages, posts receipts to the callback."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--callback", required=True,
                            help="base URL of the finance system's bank API, e.g. http://127.0.0.1:8000/api/v1/treasury/bank")
        parser.add_argument("--token", required=True, help="the bank operator's API token")
        parser.add_argument("--fail-rate", type=float, default=0.0)
        parser.add_argument("--partial-rate", type=float, default=0.0)
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, **opts):
        try:
            server, bank = serve(host=opts["host"], port=opts["port"], callback=opts["callback"],
                                 token=opts["token"], fail_rate=opts["fail_rate"],
                                 partial_rate=opts["partial_rate"], seed=opts["seed"])
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        host, port = server.server_address[:2]
        self.stdout.write(f"banksim listening on http://{host}:{port}/ (callback {opts['callback']})")
        sys.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            bank.stop()
            server.server_close()
