"""Canonical encoding, transactions, certificates and revocation lists."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from fmis.platform import crypto
from fmis.transfers.ledger import encoding, envelope, membership
from fmis.transfers.ledger.consortium import MemberSpec, create_consortium, generate_member_keys


def test_canonical_json_is_rfc8785_and_refuses_floats():
    assert encoding.canonical({"b": 1, "a": [True, None, "金额"]}) == '{"a":[true,null,"金额"],"b":1}'.encode()
    with pytest.raises(encoding.EncodingError):
        encoding.canonical({"amount": 1.5})
    with pytest.raises(encoding.EncodingError):
        encoding.canonical({"amount": 2**60})
    with pytest.raises(encoding.EncodingError):
        encoding.decode(b'{"a":1,"a":2}')
    with pytest.raises(encoding.EncodingError):
        encoding.decode(b'{"a":1.0}')
    assert encoding.is_canonical(b'{"a":1}') and not encoding.is_canonical(b'{ "a":1}')


def test_transaction_id_is_the_hash_of_the_canonical_body_and_signature_covers_it(consortium):
    m = consortium.members[0]
    tx = consortium.tx(m.signer, "transfers.receive", {"allocation": "x"}, nonce="n1")
    kind, parsed = envelope.parse(tx.wire, "sha256")
    assert kind == "tx" and parsed.tx_id == tx.tx_id
    assert parsed.tx_id == encoding.hash_bytes("sha256", encoding.canonical(parsed.body)).hex()
    assert crypto.verify("ed25519", m.keys.public_key, parsed.body_bytes, parsed.signature)
    # the same body with other whitespace has the same id: ids do not depend on the wire form
    loose = tx.wire.replace(b'"nonce":"n1"', b'"nonce": "n1"')
    assert envelope.parse(loose, "sha256")[1].tx_id == tx.tx_id
    with pytest.raises(encoding.EncodingError):
        envelope.parse(b'{"type":"tx","body":{},"sig":"AA=="}', "sha256")


def test_member_certificate_carries_the_identity_and_is_checked_against_the_ca(consortium):
    m = consortium.member("990101")
    ident = membership.read_certificate(m.certificate, consortium.ca.certificate_pem)
    assert (ident.identity_id, ident.region, ident.level, ident.role) == ("990101", "990101", "county", "finance")
    assert ident.public_key == m.keys.public_key
    other = membership.RootCA.create(consortium="other")
    with pytest.raises(membership.MembershipError):
        membership.read_certificate(m.certificate, other.certificate_pem)
    with pytest.raises(membership.MembershipError):  # a county code cannot be a province's finance department
        consortium.issue(MemberSpec("x", "x", "990101", "province", "finance"))
    with pytest.raises(membership.MembershipError):
        consortium.issue(MemberSpec("x", "x", "990101", "county", "treasurer"))


def test_sm2_member_certificate_holds_the_sm2_key_in_the_extension():
    keys = generate_member_keys("sm2")
    c = create_consortium(consortium="sm", name="sm", hash_name="sm3", members=[])
    m = c.issue(MemberSpec("990100", "一市财政局", "990100", "city", "finance", "sm2"), keys)
    ident = membership.read_certificate(m.certificate, c.ca.certificate_pem)
    assert ident.suite == "sm2" and ident.public_key == keys.public_key
    assert m.cert_id == encoding.hash_bytes("sm3", __import__("cryptography.x509", fromlist=["x"])
                                            .load_pem_x509_certificate(m.certificate.encode())
                                            .public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                                                     fromlist=["x"]).Encoding.DER)).hex()
    with pytest.raises(membership.MembershipError):  # no transport key
        c.ca.issue(membership.Identity("a", "b", "990100", "city", "finance", "sm2", keys.public_key))


def test_revocation_list_must_be_signed_by_the_ca(consortium):
    crl = membership.revocation_list(ca=consortium.ca, number=1, revoked=[{"cert_id": "ab", "reason": "exit"}])
    assert membership.check_revocation_list(crl, consortium.ca.certificate_pem) == [{"cert_id": "ab",
                                                                                     "reason": "exit"}]
    crl["body"]["revoked"].append({"cert_id": "cd", "reason": "x"})
    with pytest.raises(membership.MembershipError):
        membership.check_revocation_list(crl, consortium.ca.certificate_pem)


@pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl")
def test_sm2_transaction_signature_verifies_with_openssl(sm_consortium, tmp_path):
    m = sm_consortium.members[0]
    tx = sm_consortium.tx(m.signer, "transfers.receive", {"allocation": "x"})
    (tmp_path / "pub.pem").write_text(crypto.SM2.public_key_to_pem(m.keys.public_key))
    (tmp_path / "body").write_bytes(tx.body_bytes)
    (tmp_path / "sig").write_bytes(tx.signature)
    out = subprocess.run(["openssl", "dgst", "-sm3", "-verify", "pub.pem", "-sigopt", "distid:1234567812345678",
                          "-signature", "sig", "body"], cwd=tmp_path, capture_output=True, text=True, check=False)
    if "unknown" in out.stderr.lower() and "sm" in out.stderr.lower():
        pytest.skip("this openssl lacks SM2")
    assert out.returncode == 0 and "Verified OK" in out.stdout, out.stderr


from hypothesis import given, settings
from hypothesis import strategies as st

_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
                     st.text(max_size=20))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=5)),
                       max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_fast_canonical_encoder_equals_the_rfc8785_package(value):
    assert encoding.canonical(value) == encoding.canonical_reference(value)


def test_keys_outside_the_bmp_sort_by_utf16_code_units():
    value = {"\U0001f600": 1, "\ufb01": 2}  # code points: U+FB01 < U+1F600; UTF-16: D83D < FB01
    assert encoding.canonical(value) == encoding.canonical_reference(value)
    assert encoding.canonical(value).index("\U0001f600".encode()) < encoding.canonical(value).index("\ufb01".encode())
