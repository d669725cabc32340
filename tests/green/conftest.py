"""TLS material for the tests: a throw-away CA and certificates made with the openssl CLI.

The ``openssl`` command exists wherever the tests run (CPython and PyPy alike), unlike the
``trustme`` package, which needs ``cryptography``; it is used when the command is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests._support import unavailable


@dataclass(frozen=True)
class Certs:
    """Paths of PEM files: a CA, two server certificates and a client certificate."""

    ca: str
    server_cert: str
    server_key: str
    other_cert: str  # for the name "other.test", to exercise SNI
    other_key: str
    client_cert: str
    client_key: str


def _openssl(cwd: str, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_with_openssl(d: str) -> Certs:
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(d, "req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=greenlane test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(name: str, san: str, usage: str) -> None:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                    f"keyUsage=critical,digitalSignature\nextendedKeyUsage={usage}\n")
        _openssl(d, "req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}")
        _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                 "-extfile", f"{name}.ext")

    leaf("server", "DNS:localhost,IP:127.0.0.1,IP:::1", "serverAuth")
    leaf("other", "DNS:other.test", "serverAuth")
    leaf("client", "DNS:client.test", "clientAuth")
    p = lambda name: os.path.join(d, name)  # noqa: E731
    return Certs(p("ca.pem"), p("server.pem"), p("server.key"), p("other.pem"), p("other.key"),
                 p("client.pem"), p("client.key"))


def _make_with_trustme(d: str) -> Certs:
    try:
        import trustme
    except ImportError:
        unavailable("needs the openssl command or trustme")
    ca = trustme.CA()
    p = lambda name: os.path.join(d, name)  # noqa: E731
    ca.cert_pem.write_to_path(p("ca.pem"))
    for name, identities in (("server", ("localhost", "127.0.0.1", "::1")),
                             ("other", ("other.test",)), ("client", ("client.test",))):
        cert = ca.issue_cert(*identities)
        cert.private_key_pem.write_to_path(p(f"{name}.key"))
        cert.cert_chain_pems[0].write_to_path(p(f"{name}.pem"))
    return Certs(p("ca.pem"), p("server.pem"), p("server.key"), p("other.pem"), p("other.key"),
                 p("client.pem"), p("client.key"))


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certs]:
    d = str(tmp_path_factory.mktemp("tls"))
    if shutil.which("openssl"):
        yield _make_with_openssl(d)
    else:
        yield _make_with_trustme(d)
