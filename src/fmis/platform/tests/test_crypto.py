import shutil
import subprocess

import pytest

from fmis.platform import crypto

SUITES = ["ed25519", "sm2"]


def _openssl_has_sm2() -> bool:
    if not shutil.which("openssl"):
        return False
    out = subprocess.run(["openssl", "list", "-public-key-algorithms"], capture_output=True, text=True, check=False)
    return "SM2" in out.stdout.upper()


needs_openssl_sm2 = pytest.mark.skipif(not _openssl_has_sm2(), reason="this machine's openssl lacks SM2")


def test_digests_match_published_vectors():
    assert crypto.digest("sha256", b"abc").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    # GB/T 32905-2016 appendix A.1
    assert crypto.digest("sm3", b"abc").hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    assert crypto.digest("sm3", b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
    with pytest.raises(ValueError):
        crypto.digest("md5", b"abc")


@pytest.mark.parametrize("name", SUITES)
def test_sign_verify_round_trip(name):
    suite = crypto.get_suite(name)
    assert isinstance(suite, crypto.SignatureSuite)
    pair = crypto.generate_keypair(name)
    assert pair.suite == name and len(pair.public_key) == suite.public_key_size
    assert crypto.public_key_of(name, pair.private_key) == pair.public_key
    assert "private_key" not in repr(pair)
    for data in (b"", b"payment voucher 2024-0001", "国库集中支付".encode() * 100):
        sig = crypto.sign(name, pair.private_key, data)
        assert crypto.verify(name, pair.public_key, data, sig)


@pytest.mark.parametrize("name", SUITES)
def test_tampered_data_wrong_key_and_bad_signatures_are_refused(name):
    pair, other = crypto.generate_keypair(name), crypto.generate_keypair(name)
    data = b"amount=1000.00;payee=6222000011112222"
    sig = crypto.sign(name, pair.private_key, data)
    assert not crypto.verify(name, pair.public_key, data.replace(b"1000", b"9000"), sig)
    assert not crypto.verify(name, other.public_key, data, sig)
    flipped = bytearray(sig)
    flipped[len(sig) // 2] ^= 0x01
    assert not crypto.verify(name, pair.public_key, data, bytes(flipped))
    assert not crypto.verify(name, pair.public_key, data, sig[:-1])
    assert not crypto.verify(name, pair.public_key, data, b"")
    assert not crypto.verify(name, pair.public_key, data, b"\x30\x06\x02\x01\x00\x02\x01\x00")
    with pytest.raises(ValueError):
        crypto.verify(name, pair.public_key[:-1], data, sig)


def test_sm2_refuses_keys_off_the_curve_and_out_of_range():
    with pytest.raises(ValueError, match="curve"):
        crypto.verify("sm2", b"\x01" * 64, b"x", b"\x30\x00")
    with pytest.raises(ValueError, match="range"):
        crypto.sign("sm2", b"\x00" * 32, b"x")
    with pytest.raises(ValueError):
        crypto.sign("sm2", b"\x01" * 31, b"x")


def test_sm2_signer_id_is_part_of_the_signature():
    pair = crypto.generate_keypair("sm2")
    custom = crypto.SM2Suite(signer_id=b"ALICE123@YAHOO.COM")
    sig = custom.sign(pair.private_key, b"data")
    assert custom.verify(pair.public_key, b"data", sig)
    assert not crypto.SM2.verify(pair.public_key, b"data", sig)


def test_sm2_agrees_with_gmssl_computing_z_itself():
    import gmssl_pyx

    pair = crypto.generate_keypair("sm2")
    ours = crypto.sign("sm2", pair.private_key, b"message")
    assert gmssl_pyx.sm2_verify(pair.public_key, b"message", ours, crypto.SM2_DEFAULT_SIGNER_ID)
    theirs = gmssl_pyx.sm2_sign(pair.private_key, pair.public_key, b"message", crypto.SM2_DEFAULT_SIGNER_ID)
    assert crypto.verify("sm2", pair.public_key, b"message", theirs)


@pytest.mark.parametrize("name", SUITES)
def test_pem_round_trip(name):
    suite = crypto.get_suite(name)
    pair = suite.generate_keypair()
    pub_pem = suite.public_key_to_pem(pair.public_key)
    key_pem = suite.private_key_to_pem(pair.private_key)
    assert pub_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert suite.public_key_from_pem(pub_pem) == pair.public_key
    assert suite.private_key_from_pem(key_pem) == pair.private_key


def test_pem_of_the_wrong_suite_is_refused():
    ed = crypto.generate_keypair("ed25519")
    with pytest.raises(ValueError):
        crypto.SM2.public_key_from_pem(crypto.ED25519.public_key_to_pem(ed.public_key))
    sm = crypto.generate_keypair("sm2")
    with pytest.raises((ValueError, TypeError)):
        crypto.ED25519.public_key_from_pem(crypto.SM2.public_key_to_pem(sm.public_key))


def test_unknown_suite():
    with pytest.raises(ValueError):
        crypto.get_suite("rsa")
    assert crypto.get_suite("SM2") is crypto.SM2


@needs_openssl_sm2
def test_sm2_interop_with_openssl_both_directions(tmp_path):
    pair = crypto.generate_keypair("sm2")
    (tmp_path / "pub.pem").write_text(crypto.SM2.public_key_to_pem(pair.public_key))
    (tmp_path / "key.pem").write_text(crypto.SM2.private_key_to_pem(pair.private_key))
    data = "拨款通知 2024-001 金额 1,000,000.00".encode()
    (tmp_path / "data").write_bytes(data)
    distid = ["-sigopt", "distid:1234567812345678"]

    # ours -> openssl
    (tmp_path / "ours.sig").write_bytes(crypto.sign("sm2", pair.private_key, data))
    ok = subprocess.run(["openssl", "dgst", "-sm3", "-verify", "pub.pem", *distid, "-signature", "ours.sig", "data"],
                        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout, ok.stderr
    (tmp_path / "other").write_bytes(data + b"!")
    bad = subprocess.run(["openssl", "dgst", "-sm3", "-verify", "pub.pem", *distid, "-signature", "ours.sig",
                          "other"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert bad.returncode != 0

    # openssl -> ours, with our key and with a key openssl generated
    subprocess.run(["openssl", "dgst", "-sm3", "-sign", "key.pem", *distid, "-out", "theirs.sig", "data"],
                   cwd=tmp_path, check=True, capture_output=True)
    theirs = (tmp_path / "theirs.sig").read_bytes()
    assert crypto.verify("sm2", pair.public_key, data, theirs)
    assert not crypto.verify("sm2", pair.public_key, data + b"!", theirs)

    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", "k2.pem"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", "k2.pem", "-pubout", "-out", "p2.pem"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run(["openssl", "dgst", "-sm3", "-sign", "k2.pem", *distid, "-out", "k2.sig", "data"], cwd=tmp_path,
                   check=True, capture_output=True)
    pub2 = crypto.SM2.public_key_from_pem((tmp_path / "p2.pem").read_text())
    key2 = crypto.SM2.private_key_from_pem((tmp_path / "k2.pem").read_text())
    assert crypto.public_key_of("sm2", key2) == pub2
    assert crypto.verify("sm2", pub2, data, (tmp_path / "k2.sig").read_bytes())


def test_ed25519_interop_with_openssl(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("no openssl on this machine")
    pair = crypto.generate_keypair("ed25519")
    (tmp_path / "pub.pem").write_text(crypto.ED25519.public_key_to_pem(pair.public_key))
    (tmp_path / "data").write_bytes(b"block 42")
    (tmp_path / "sig").write_bytes(crypto.sign("ed25519", pair.private_key, b"block 42"))
    ok = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "data",
                         "-sigfile", "sig"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout, ok.stderr
