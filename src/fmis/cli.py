"""The ``fmis`` command.

  fmis demo [--port 8000] [--scale small]   start the embedded database, migrate, seed, serve the UI
  fmis serve [--host 127.0.0.1] [--port 8000]
  fmis db start|stop|status|psql            manage the embedded PostgreSQL server
  fmis seed [--scale small|medium|large]    load the deterministic demo province
  fmis audit verify                         check the audit log's hash chain
  fmis outbox deliver [--topic T] [--every S]  deliver pending outbox messages (every S seconds)
  fmis accounting export-beancount --account-set CODE [--year Y] [-o FILE]
                                            an account set as a Beancount ledger (both bases)
  fmis chain verify [--node DSN] | verify-receipt FILE [--ca CA.pem] | up [--nodes N] [--nats] | node ...
                                            the consortium ledger: verify a node, a receipt; a local consortium
  fmis test [pytest args]                   run the test suite (installs Chromium if missing)
  fmis manage <django command> [...]        any Django management command
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def _django(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fmis.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fmis", *argv])


def _db(args: list[str]) -> int:
    from fmis.platform import embedded_db

    cmd = args[0] if args else "status"
    if cmd == "start":
        if os.environ.get("DATABASE_URL"):
            print("DATABASE_URL is set: the embedded server is not used.")
            return 0
        params = embedded_db.ensure_running()
        embedded_db.ensure_database(os.environ.get("FMIS_DB_NAME", "fmis"))
        print(f"embedded PostgreSQL running, socket dir {params['HOST']}, data {embedded_db.pgdata_dir()}")
        return 0
    if cmd == "stop":
        print(embedded_db.stop())
        return 0
    if cmd == "status":
        print(embedded_db.status())
        return 0
    if cmd == "psql":
        return subprocess.call(embedded_db.psql_command(os.environ.get("FMIS_DB_NAME", "fmis")) + args[1:])
    print(f"unknown db command: {cmd} (start|stop|status|psql)", file=sys.stderr)
    return 2


def _ensure_chromium() -> None:
    if shutil.which("chromium") or os.path.exists("/usr/bin/chromium"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit("Chromium is needed for the browser tests: apt-get install -y chromium")
    print("installing Chromium from Debian's packages for the browser tests ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _test(args: list[str]) -> int:
    _ensure_chromium()
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.environ.get("DATABASE_URL"):
        from fmis.platform import embedded_db

        embedded_db.ensure_running()
    import pytest

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    default = ["-n", os.environ.get("FMIS_TEST_WORKERS", "2"), "--dist", "loadfile"]
    return pytest.main(["--rootdir", root, "-c", os.path.join(root, "pyproject.toml"), *default, *args])


def _demo(args: list[str]) -> int:
    """Seed the demo province, start the bank simulator and an outbox deliverer as child processes,
    print where to look, serve the UI; Ctrl-C stops the server and the children."""
    import argparse
    import signal
    import socket
    import time

    received: list[int] = []

    def interrupt(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    # Ctrl-C and a plain kill both end in the clean-up below, also when started in the background
    # (where SIGINT may be inherited as ignored).
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    p = argparse.ArgumentParser(prog="fmis demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default="8000")
    p.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    p.add_argument("--banksim-port", type=int, default=int(os.environ.get("FMIS_BANKSIM_PORT") or 8765))
    ns = p.parse_args(args)
    os.environ["FMIS_BANKSIM_PORT"] = str(ns.banksim_port)  # the seed points the demo bank at it
    _db(["start"])
    _django(["migrate", "--noinput", "-v", "0"])
    _django(["seed", "--scale", ns.scale, "--if-empty"])
    _django(["collectstatic", "--noinput", "-v", "0"])

    # The modules' demo data again: a no-op after a fresh seed, and it completes a province seeded
    # before those modules had demo data (``--if-empty`` skips them) and moves the bank endpoint
    # to this run's simulator port.
    from fmis.orgs.management.commands.seed import app_demo_seeders
    from fmis.treasury import demo as treasury_demo

    for _label, seed_demo in app_demo_seeders():
        seed_demo(scale=ns.scale, write=None)
    treasury_demo.point_bank_at_simulator(port=ns.banksim_port)
    token = treasury_demo.banksim_token()  # a fresh one each start; the previous one is revoked

    local = "127.0.0.1" if ns.host in ("0.0.0.0", "::", "") else ns.host
    callback = f"http://{local}:{ns.port}/api/v1/treasury/bank"
    children: list[subprocess.Popen] = []
    try:
        bank = subprocess.Popen([sys.executable, "-m", "fmis.cli", "manage", "banksim", "--host", "127.0.0.1",
                                 "--port", str(ns.banksim_port), "--callback", callback, "--token", token])
        children.append(bank)
        deadline = time.monotonic() + 30
        while bank.poll() is None and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", ns.banksim_port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        if bank.poll() is not None:
            print(f"warning: the bank simulator did not start (port {ns.banksim_port} in use? "
                  "choose another with --banksim-port)", file=sys.stderr)
        children.append(subprocess.Popen([sys.executable, "-m", "fmis.cli", "outbox", "deliver", "--every", "2"]))

        print(f"\nOpenFMIS demo: http://{ns.host}:{ns.port}/  (API docs: http://{ns.host}:{ns.port}/api/v1/docs)")
        _django(["demo_logins"])
        _print_money_flow_guide(ns, local)
        _django(["runserver", f"{ns.host}:{ns.port}", "--noreload", "--insecure"])
    except KeyboardInterrupt:
        pass
    finally:
        # Ctrl-C reaches the whole process group: give the children a moment to end by themselves,
        # then stop what is left one at a time (each one's exit touches the embedded database's
        # shared process list).
        grace = time.monotonic() + (5 if signal.SIGINT in received else 0)
        for child in children:
            try:
                child.wait(timeout=max(grace - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    return 0


def _print_money_flow_guide(ns, local: str) -> None:
    from django.utils import timezone

    from fmis.bankside import demo as bankside_demo
    from fmis.orgs.demo import DEMO_PASSWORD
    from fmis.treasury import demo as treasury_demo

    year = timezone.localdate().year
    base = f"http://{local}:{ns.port}"
    print(f"""
资金流程演示（{year} 年度，演示密码 {DEMO_PASSWORD}）：
  1. 单位会计 unit_990000101_acct 登录，{base}/treasury/applications/ 新建支付申请：
     指标 ZB{year}99000010101（授权支付）或 ZB{year}99000010102（直接支付），保存后送审；
  2. 国库处 prov_treasury 登录，{base}/workflow/inbox/ 待办中审核通过：生成已签名的支付凭证，
     2 秒内由发送队列送到模拟银行 http://127.0.0.1:{ns.banksim_port}/status ；
  3. 模拟银行（{treasury_demo.DEMO_BANK_OPERATOR} 的令牌）支付后回送回单：申请变为“已支付”，
     {base}/indicators/ 指标明细中可见“申请占用”“支付”变动；
  4. 单位会计在 {base}/accounting/vouchers/ 查看本单位账套自动生成的机制凭证；
  另：县级预算处 county1_budget 可在 {base}/indicators/ 分配待分指标 ZB{year}990101DF01。
代理银行预算业务（联盟链）：银行经办 {bankside_demo.BANK_OPERATOR} 在 {base}/bankside/payments/new/ 录入预算信息；
  国库处 prov_treasury 在 {base}/bankside/review/ 审核预申请，在 {base}/bankside/execution/ 查看执行情况。
按 Ctrl-C 停止服务、模拟银行和发送队列。
""", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "db":
        return _db(rest)
    if cmd == "test":
        return _test(rest)
    if cmd == "demo":
        return _demo(rest)
    if cmd == "serve":
        host = rest[rest.index("--host") + 1] if "--host" in rest else "127.0.0.1"
        port = rest[rest.index("--port") + 1] if "--port" in rest else "8000"
        _django(["runserver", f"{host}:{port}", "--noreload", "--insecure"])
        return 0
    if cmd == "accounting" and rest[:1] == ["export-beancount"]:
        _django(["export_beancount", *rest[1:]])
        return 0
    if cmd == "chain":
        sub = {"verify": "chain_verify", "verify-receipt": "chain_verify_receipt", "up": "chain_up", "node": "chain_node"}
        if not rest or rest[0] not in sub:
            print("usage: fmis chain verify [--node DSN] | verify-receipt FILE [--ca CA.pem] | up [--nodes N] [--nats] | node",
                  file=sys.stderr)
            return 2
        _django([sub[rest[0]], *rest[1:]])
        return 0
    if cmd == "manage":
        _django(rest)
        return 0
    if cmd == "audit":
        _django(["audit_verify", *rest[1:]] if rest[:1] == ["verify"] else ["help", "audit_verify"])
        return 0
    if cmd == "outbox":
        _django(["outbox_deliver", *rest[1:]])
        return 0
    # seed and any other management command
    _django([cmd, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
