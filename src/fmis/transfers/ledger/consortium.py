"""Creating a consortium: its CA, its members' keys and certificates, its genesis message.

    c = create_consortium(consortium="990000-transfers", name="示例省转移支付联盟", hash_name="sm3",
                          members=[MemberSpec("990000", "示例省财政厅", "990000", "province", "finance")])
    orderer.submit(c.genesis, msg_id="genesis")

``create_consortium`` is what an operator runs once; it returns the members' private keys only
because, in a demo or a test, the members' keys are generated on the same machine. In a real
consortium each member runs ``generate_member_keys`` itself and sends only public keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fmis.platform import crypto
from fmis.transfers.ledger import envelope as env
from fmis.transfers.ledger import membership
from fmis.transfers.ledger.executor import DEFAULT_CONTRACT_MODULES, build_contract_tables


@dataclass(frozen=True)
class MemberSpec:
    identity_id: str
    organisation: str
    region: str
    level: str
    role: str
    suite: str = "ed25519"


@dataclass(frozen=True)
class MemberKeys:
    suite: str
    private_key: bytes = field(repr=False)
    public_key: bytes
    transport_private_key: bytes | None = field(default=None, repr=False)
    transport_public_key: bytes | None = None


def generate_member_keys(suite: str) -> MemberKeys:
    """What a member runs on its own machine before asking to join."""
    pair = crypto.generate_keypair(suite)
    if suite == "ed25519":
        return MemberKeys(suite, pair.private_key, pair.public_key)
    transport = crypto.generate_keypair("ed25519")
    return MemberKeys(suite, pair.private_key, pair.public_key, transport.private_key, transport.public_key)


@dataclass
class Member:
    spec: MemberSpec
    keys: MemberKeys
    certificate: str
    cert_id: str

    @property
    def signer(self) -> env.Signer:
        return env.Signer(self.cert_id, self.keys.suite, self.keys.private_key)


@dataclass
class Consortium:
    config: dict
    ca: membership.RootCA
    members: list[Member]
    genesis: bytes

    @property
    def hash_name(self) -> str:
        return self.config["hash"]

    @property
    def ca_signer(self) -> env.Signer:
        return env.Signer(membership.CA_CREATOR, "ed25519", self.ca.private_key)

    def member(self, identity_id: str) -> Member:
        return next(m for m in self.members if m.spec.identity_id == identity_id)

    def issue(self, spec: MemberSpec, keys: MemberKeys | None = None) -> Member:
        """A certificate for a member joining later (admit it with a ``membership.admit`` transaction)."""
        keys = keys or generate_member_keys(spec.suite)
        identity = membership.Identity(spec.identity_id, spec.organisation, spec.region, spec.level, spec.role,
                                       spec.suite, keys.public_key)
        pem = self.ca.issue(identity, transport_public_key=keys.transport_public_key)
        return Member(spec, keys, pem, membership.certificate_id(self.hash_name, pem))

    def tx(self, signer: env.Signer, function: str, args: dict, *, nonce: str | None = None,
           timestamp: int = 0) -> env.Tx:
        return env.make_tx(signer=signer, consortium=self.config["consortium"], hash_name=self.hash_name,
                           function=function, args=args, nonce=nonce, timestamp=timestamp)


def create_consortium(*, consortium: str, name: str, hash_name: str = "sha256", members: list[MemberSpec] = (),
                      quorum: int | None = None, block_max_txs: int = 500,
                      contract_modules: list[str] | tuple[str, ...] | None = None) -> Consortium:
    """`contract_modules`: the contract modules every node runs (default: the transfer contracts;
    e.g. add ``"fmis.bankside.contracts"`` for the agent-bank contracts). Raises ``ValueError``
    (``ContractConfigError``) for an unknown module or a list without the transfer contracts."""
    if hash_name not in ("sha256", "sm3"):
        raise ValueError("hash must be sha256 or sm3")
    modules = list(DEFAULT_CONTRACT_MODULES if contract_modules is None else contract_modules)
    build_contract_tables({"contract_modules": modules})
    ca = membership.RootCA.create(consortium=consortium)
    config = {"consortium": consortium, "name": name, "hash": hash_name, "ca_certificate": ca.certificate_pem,
              "block_max_txs": block_max_txs, "contract_modules": modules, "members": []}
    c = Consortium(config, ca, [], b"")
    for spec in members:
        m = c.issue(spec)
        c.members.append(m)
        config["members"].append(m.certificate)
    config["quorum"] = quorum if quorum is not None else len(members) // 2 + 1
    c.genesis = env.genesis_message(config)[0]
    return c
