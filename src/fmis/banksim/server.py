"""An agent bank simulator speaking the documented bank interface (docs/bank-interface.md).

It accepts voucher messages by HTTP POST, pays them (or not) and posts the receipts (回单) back to
the finance system's bank API with the bank operator's token:

- ``POST /vouchers``: a voucher message; answers 202 and queues it. A voucher number seen
  before is answered 200 ``{"duplicate": true}`` and is not paid again. A voucher batch
  (``message_type: voucher_batch``) is accepted whole or refused whole (400); its vouchers are
  paid and their receipts posted back in one receipt batch (``receipts/batch``).
- ``POST /refunds``: ``{"voucher_no", "amount", "reason"}``: send a refund message for money of a
  paid voucher that came back.
- ``POST /statements``: ``{"date": "YYYY-MM-DD"}``: send the day's statement (对账单).
- ``GET /status``: what was received and sent.

Each voucher is paid in full, fails (``fail_rate``), or is paid in part with the rest failed
(``partial_rate``), decided by a seeded random generator. Receipts that cannot be delivered are
retried with backoff; a receipt the finance system refuses (4xx) is recorded with its answer.
Only the standard library is used: the simulator shares nothing with the finance system but the
message interface.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("fmis.banksim")

VERSION = "1.0"
CENT = Decimal("0.01")


class Bank:
    def __init__(self, *, callback: str, token: str, fail_rate: float = 0.0, partial_rate: float = 0.0,
                 seed: int | None = None, retries: int = 8):
        if not 0 <= fail_rate <= 1 or not 0 <= partial_rate <= 1 or fail_rate + partial_rate > 1:
            raise ValueError("fail_rate and partial_rate must be in [0, 1] and add up to at most 1")
        self.callback = callback.rstrip("/")
        self.token = token
        self.fail_rate = fail_rate
        self.partial_rate = partial_rate
        self.random = random.Random(seed)
        self.retries = retries
        self.lock = threading.Lock()
        self.vouchers: dict[str, dict] = {}
        self.sent: list[dict] = []  # {"message", "status", "answer"}
        self.serial = 0
        # serials stay unique across restarts: the start time (seconds of the day) is part of them
        started = dt.datetime.now()
        self.run_id = f"{started.hour * 3600 + started.minute * 60 + started.second:05d}"
        self.work: queue.Queue = queue.Queue()
        self.worker = threading.Thread(target=self._run, name="banksim-worker", daemon=True)
        self.worker.start()

    # --- messages out ---------------------------------------------------------------------------

    def _next_serial(self, bank_code: str) -> str:
        with self.lock:
            self.serial += 1
            return f"{bank_code}{dt.date.today():%Y%m%d}{self.run_id}{self.serial:07d}"

    def _post(self, path: str, message: dict) -> tuple[int, dict]:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        delay = 0.05
        for attempt in range(1, self.retries + 1):
            req = urllib.request.Request(f"{self.callback}/{path}", data=body, method="POST", headers={
                "Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.token}"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return resp.status, json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as exc:
                answer = _json_or_text(exc.read())
                if exc.code < 500 and exc.code not in (408, 429):
                    return exc.code, answer
                log.warning("callback %s answered %s (attempt %s)", path, exc.code, attempt)
            except (urllib.error.URLError, OSError) as exc:
                log.warning("callback %s unreachable (attempt %s): %s", path, attempt, exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        return 0, {"error": "callback unreachable"}

    def _send(self, path: str, message: dict) -> dict:
        status, answer = self._post(path, message)
        record = {"message": message, "status": status, "answer": answer}
        with self.lock:
            self.sent.append(record)
        return record

    def _receipt(self, voucher: dict, result: str, amount: Decimal, reason: str = "") -> dict:
        msg = {"message_type": "receipt", "version": VERSION, "bank_code": voucher["bank_code"],
               "serial_no": self._next_serial(voucher["bank_code"]), "voucher_no": voucher["voucher_no"],
               "result": result, "amount": f"{amount:.2f}", "value_date": dt.date.today().isoformat()}
        if reason:
            msg["reason"] = reason
        return self._send("receipts", msg)

    def _pay(self, voucher: dict) -> None:
        amount = Decimal(voucher["amount"])
        roll = self.random.random()
        if roll < self.fail_rate:
            self._receipt(voucher, "failed", amount, "收款人账户状态异常")
        elif roll < self.fail_rate + self.partial_rate and amount > CENT:
            fen = int(amount / CENT)
            part = Decimal(self.random.randint(1, fen - 1)) * CENT
            self._receipt(voucher, "success", part)
            self._receipt(voucher, "failed", amount - part, "付款账户余额不足，部分支付")
        else:
            self._receipt(voucher, "success", amount)

    def _run(self) -> None:
        while True:
            voucher = self.work.get()
            if voucher is None:
                return
            try:
                if "batch" in voucher:
                    self._pay_batch(voucher["batch"])
                else:
                    self._pay(voucher)
            except Exception:
                log.exception("voucher %s could not be processed", voucher.get("voucher_no") or "batch")
            finally:
                self.work.task_done()

    # --- messages in ----------------------------------------------------------------------------

    def accept_voucher(self, message: dict) -> tuple[int, dict]:
        if message.get("message_type") == "voucher_batch":
            return self.accept_batch(message)
        problems = [k for k in ("voucher_no", "bank_code", "amount") if not isinstance(message.get(k), str)]
        if message.get("message_type") != "voucher":
            problems.append("message_type")
        if problems:
            return 400, {"error": "malformed voucher message", "fields": problems}
        try:
            if Decimal(message["amount"]) <= 0:
                raise ValueError
        except (ArithmeticError, ValueError):
            return 400, {"error": "malformed voucher message", "fields": ["amount"]}
        with self.lock:
            if message["voucher_no"] in self.vouchers:
                return 200, {"accepted": True, "duplicate": True, "voucher_no": message["voucher_no"]}
            self.vouchers[message["voucher_no"]] = message
        self.work.put(message)
        return 202, {"accepted": True, "duplicate": False, "voucher_no": message["voucher_no"]}

    def accept_batch(self, message: dict) -> tuple[int, dict]:
        """A voucher batch (批量): every voucher in it is checked first; a malformed one refuses the
        whole message. Vouchers seen before are not paid again; the receipts of a batch go back
        in one receipt batch message."""
        vouchers = message.get("vouchers")
        if not isinstance(vouchers, list) or not vouchers or not isinstance(message.get("batch_no"), str):
            return 400, {"error": "malformed voucher batch", "fields": ["vouchers"]}
        for i, v in enumerate(vouchers):
            problems = [k for k in ("voucher_no", "bank_code", "amount") if not isinstance(v.get(k), str)]
            if v.get("message_type") != "voucher" or v.get("bank_code") != message.get("bank_code"):
                problems.append("message_type/bank_code")
            try:
                if not problems and Decimal(v["amount"]) <= 0:
                    raise ValueError
            except (ArithmeticError, ValueError):
                problems.append("amount")
            if problems:
                return 400, {"error": "malformed voucher in batch", "index": i, "fields": problems}
        new = []
        with self.lock:
            for v in vouchers:
                if v["voucher_no"] not in self.vouchers:
                    self.vouchers[v["voucher_no"]] = v
                    new.append(v)
        if new:
            self.work.put({"batch": new})
        return 202, {"accepted": True, "batch_no": message["batch_no"], "new": len(new),
                     "duplicates": len(vouchers) - len(new)}

    def _receipts_for(self, voucher: dict) -> list[dict]:
        amount = Decimal(voucher["amount"])
        roll = self.random.random()
        if roll < self.fail_rate:
            return [("failed", amount, "收款人账户状态异常")]
        if roll < self.fail_rate + self.partial_rate and amount > CENT:
            part = Decimal(self.random.randint(1, int(amount / CENT) - 1)) * CENT
            return [("success", part, ""), ("failed", amount - part, "付款账户余额不足，部分支付")]
        return [("success", amount, "")]

    def _pay_batch(self, vouchers: list[dict]) -> None:
        bank_code = vouchers[0]["bank_code"]
        entries = []
        for v in vouchers:
            for result, amount, reason in self._receipts_for(v):
                e = {"serial_no": self._next_serial(bank_code), "voucher_no": v["voucher_no"], "result": result,
                     "amount": f"{amount:.2f}", "value_date": dt.date.today().isoformat()}
                if reason:
                    e["reason"] = reason
                entries.append(e)
        msg = {"message_type": "receipt_batch", "version": VERSION, "bank_code": bank_code,
               "batch_no": self._next_serial(bank_code), "receipts": entries}
        record = self._post("receipts/batch", msg)
        with self.lock:  # recorded per receipt, so statements list them as for single receipts
            for e in entries:
                self.sent.append({"message": {"message_type": "receipt", "version": VERSION, "bank_code": bank_code,
                                              **e}, "status": record[0], "answer": record[1]})

    def refund(self, body: dict) -> tuple[int, dict]:
        voucher = self.vouchers.get(body.get("voucher_no", ""))
        if voucher is None:
            return 404, {"error": "unknown voucher"}
        msg = {"message_type": "refund", "version": VERSION, "bank_code": voucher["bank_code"],
               "serial_no": self._next_serial(voucher["bank_code"]), "voucher_no": voucher["voucher_no"],
               "amount": str(body.get("amount", "")), "value_date": dt.date.today().isoformat(),
               "reason": body.get("reason") or "收款人退回"}
        record = self._send("refunds", msg)
        return 200, record

    def statement(self, body: dict) -> tuple[int, dict]:
        date = body.get("date") or dt.date.today().isoformat()
        entries, bank_codes = [], set()
        with self.lock:
            sent = list(self.sent)
        for rec in sent:
            m = rec["message"]
            if rec["status"] != 200 or m.get("value_date") != date:
                continue
            if m["message_type"] == "receipt" and m["result"] == "success":
                entries.append({"serial_no": m["serial_no"], "voucher_no": m["voucher_no"], "kind": "pay",
                                "amount": m["amount"]})
            elif m["message_type"] == "refund":
                entries.append({"serial_no": m["serial_no"], "voucher_no": m["voucher_no"], "kind": "refund",
                                "amount": m["amount"]})
            else:
                continue
            bank_codes.add(m["bank_code"])
        records = [self._send("statements", {"message_type": "statement", "version": VERSION, "bank_code": code,
                                             "date": date,
                                             "entries": [e for e in entries if e["serial_no"].startswith(code)]})
                   for code in sorted(bank_codes)]
        return 200, {"statements": records}

    def status(self) -> dict:
        with self.lock:
            return {"vouchers": len(self.vouchers), "pending": self.work.unfinished_tasks,
                    "sent": [{"message": r["message"], "status": r["status"]} for r in self.sent]}

    def stop(self) -> None:
        self.work.put(None)


def _json_or_text(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
        return value if isinstance(value, dict) else {"body": value}
    except ValueError:
        return {"body": raw[:500].decode("utf-8", "replace")}


def make_handler(bank: Bank):
    class Handler(BaseHTTPRequestHandler):
        server_version = "fmis-banksim/1.0"

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict | None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                value = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return None
            return value if isinstance(value, dict) else None

        def do_POST(self):
            body = self._body()
            if body is None:
                return self._answer(400, {"error": "body must be a JSON object"})
            routes = {"/vouchers": bank.accept_voucher, "/refunds": bank.refund, "/statements": bank.statement}
            fn = routes.get(self.path.split("?")[0].rstrip("/"))
            if fn is None:
                return self._answer(404, {"error": "not found"})
            return self._answer(*fn(body))

        def do_GET(self):
            if self.path.split("?")[0].rstrip("/") == "/status":
                return self._answer(200, bank.status())
            return self._answer(404, {"error": "not found"})

        def log_message(self, fmt, *args):
            log.debug("%s " + fmt, self.address_string(), *args)

    return Handler


def serve(*, host: str = "127.0.0.1", port: int, callback: str, token: str, fail_rate: float = 0.0,
          partial_rate: float = 0.0, seed: int | None = None) -> tuple[ThreadingHTTPServer, Bank]:
    """Create the simulator's server (call ``serve_forever()`` on it)."""
    bank = Bank(callback=callback, token=token, fail_rate=fail_rate, partial_rate=partial_rate, seed=seed)
    server = ThreadingHTTPServer((host, port), make_handler(bank))
    server.daemon_threads = True
    return server, bank
