"""The cluster PKI: CA, apiserver serving cert, admin client cert, service-account keys.

Owns the files under ``DATA_DIR/pki/`` and everything that turns them into something
usable: the TLS server context, client certificates for components, and kubeconfigs.

Layout (key files are mode 0600, every write is temp file + rename)::

    pki/ca.crt  ca.key                 self-signed CA "kybernetes-ca", 10 years
    pki/apiserver.crt  apiserver.key   serving cert, 1 year, SANs = serving_hosts()
    pki/admin.crt  admin.key           client cert CN kubernetes-admin, O system:masters
    pki/sa.key  sa.pub                 RSA 2048 key pair that signs service-account tokens

Contract of `ensure_pki`: the CA and the SA keys are created once and never replaced
while they exist (replacing them would invalidate every issued cert and token). Leaf
certificates are re-issued from the same CA when missing, not signed by that CA, within
`RENEW_BEFORE` of expiry, or (serving cert only) when their SANs miss a current host.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import os
import socket
import ssl
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_COMMON_NAME = "kybernetes-ca"
ADMIN_COMMON_NAME = "kubernetes-admin"
ADMIN_ORGANIZATION = "system:masters"
FIRST_SERVICE_IP = "10.43.0.1"
CLUSTER_DOMAIN = "cluster.local"

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=30)
# Tolerate small clock skew between machines, as kubeadm does by back-dating certs.
_BACKDATE = datetime.timedelta(minutes=5)

_SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
)


@dataclass(frozen=True)
class Pki:
    """Paths of the PKI files plus the loaded CA (to issue more certs).

    Only `ensure_pki` constructs this; the files it names exist when it returns.
    """

    dir: Path
    ca_cert: x509.Certificate
    ca_key: CertificateIssuerPrivateKeyTypes

    @property
    def ca_crt_path(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key_path(self) -> Path:
        return self.dir / "ca.key"

    @property
    def serving_crt_path(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key_path(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def admin_crt_path(self) -> Path:
        return self.dir / "admin.crt"

    @property
    def admin_key_path(self) -> Path:
        return self.dir / "admin.key"

    @property
    def sa_key_path(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub_path(self) -> Path:
        return self.dir / "sa.pub"

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)


# --------------------------------------------------------------------------- files


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see either the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _key_pem(key: CertificateIssuerPrivateKeyTypes | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_pair(crt: Path, key_path: Path, cert_pem: bytes, key_pem: bytes) -> None:
    # Key first: a crash in between leaves a cert that fails _leaf_ok, so both are redone.
    _atomic_write(key_path, key_pem, 0o600)
    _atomic_write(crt, cert_pem, 0o644)


# --------------------------------------------------------------------------- issuing


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organizations: Iterable[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _create_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    name = _name(CA_COMMON_NAME)
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(
    pki: Pki,
    subject: x509.Name,
    *,
    days: int,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[bytes, bytes]:
    key = _new_key()
    now = _now()
    ca_ski = pki.ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(pki.ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(pki.ca_key, hashes.SHA256())
    return _cert_pem(cert), _key_pem(key)


def issue_client_cert(
    pki: Pki, common_name: str, organizations: list[str], *, days: int = LEAF_VALIDITY_DAYS
) -> tuple[bytes, bytes]:
    """A client certificate signed by the cluster CA: (cert PEM, key PEM).

    The apiserver's X509 authenticator maps CN to the user name and O to groups.
    """
    return _issue(
        pki, _name(common_name, organizations), days=days, usage=ExtendedKeyUsageOID.CLIENT_AUTH
    )


def issue_serving_cert(
    pki: Pki, common_name: str, hosts: Iterable[str], *, days: int = LEAF_VALIDITY_DAYS
) -> tuple[bytes, bytes]:
    """A TLS serving certificate for `hosts` (DNS names and IP literals): (cert PEM, key PEM)."""
    return _issue(
        pki, _name(common_name), days=days, usage=ExtendedKeyUsageOID.SERVER_AUTH,
        sans=_general_names(hosts),
    )


# --------------------------------------------------------------------------- hosts


def _general_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            out.append(x509.DNSName(host))
    return out


def _interface_ipv4(name: str) -> str | None:
    import fcntl  # POSIX only; imported here so the module still loads elsewhere

    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), siocgifaddr, struct.pack("256s", name[:15].encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def _local_ipv6() -> list[str]:
    out = []
    with contextlib.suppress(OSError), open("/proc/net/if_inet6") as f:
        for line in f:
            hexaddr = line.split()[0]
            addr = ipaddress.IPv6Address(bytes.fromhex(hexaddr))
            if not addr.is_link_local:  # link-local needs a zone; not usable in a SAN
                out.append(str(addr))
    return out


def local_addresses() -> list[str]:
    """Best-effort list of this host's own IP addresses (no external commands)."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        for _, name in socket.if_nameindex():
            ip = _interface_ipv4(name)
            if ip:
                found.append(ip)
    found.extend(_local_ipv6())
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.append(str(info[4][0]).split("%", 1)[0])
    return [a for a in dict.fromkeys(found) if not ipaddress.ip_address(a).is_link_local]


def serving_hosts(extra: Iterable[str] | None = None) -> list[str]:
    """Every name and address the apiserver serving cert must cover, without duplicates."""
    hosts = ["127.0.0.1", "::1", "localhost"]
    hostname = socket.gethostname()
    hosts.append(hostname.lower())
    with contextlib.suppress(OSError):
        hosts.append(socket.getfqdn(hostname).lower())
    hosts.extend(local_addresses())
    hosts.extend(_SERVICE_NAMES)
    hosts.append(FIRST_SERVICE_IP)
    hosts.extend(extra or ())
    return [_normal_host(h) for h in dict.fromkeys(hosts) if h]


def _normal_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower()


def cert_hosts(cert: x509.Certificate) -> set[str]:
    """DNS names and IP addresses (as strings) in a certificate's SAN extension."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    names = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    names |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return names


# --------------------------------------------------------------------------- ensure


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _leaf_ok(pki: Pki, crt: Path, key: Path) -> x509.Certificate | None:
    """The leaf cert at `crt` if it is usable: present, with key, from our CA, not expiring."""
    cert = _load_cert(crt)
    if cert is None or not key.exists():
        return None
    try:
        cert.verify_directly_issued_by(pki.ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return None
    if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
        return None
    return cert


def _load_or_create_ca(pki_dir: Path) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes]:
    crt, key_path = pki_dir / "ca.crt", pki_dir / "ca.key"
    if crt.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return cert, key  # type: ignore[return-value]
    cert, new_key = _create_ca()
    _write_pair(crt, key_path, _cert_pem(cert), _key_pem(new_key))
    return cert, new_key


def _ensure_sa_keys(pki: Pki) -> None:
    if pki.sa_key_path.exists() and pki.sa_pub_path.exists():
        return
    if pki.sa_key_path.exists():
        key = serialization.load_pem_private_key(pki.sa_key_path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _atomic_write(pki.sa_key_path, _key_pem(key), 0o600)  # type: ignore[arg-type]
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _atomic_write(pki.sa_pub_path, pub, 0o644)


def ensure_pki(data_dir: Path, *, hosts: list[str] | None = None) -> Pki:
    """Create or refresh ``data_dir/pki`` (see the module docstring for the rules)."""
    pki_dir = Path(data_dir) / "pki"
    pki_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(pki_dir, 0o700)
    ca_cert, ca_key = _load_or_create_ca(pki_dir)
    pki = Pki(dir=pki_dir, ca_cert=ca_cert, ca_key=ca_key)

    wanted = set(serving_hosts(hosts))
    serving = _leaf_ok(pki, pki.serving_crt_path, pki.serving_key_path)
    if serving is None or not wanted <= cert_hosts(serving):
        # Keep names an older cert had (e.g. a --tls-san given once) so clients keep working.
        previous = cert_hosts(serving) if serving is not None else set()
        all_hosts = [*sorted(wanted), *sorted(previous - wanted)]
        cert_pem, key_pem = issue_serving_cert(pki, "kube-apiserver", all_hosts)
        _write_pair(pki.serving_crt_path, pki.serving_key_path, cert_pem, key_pem)

    if _leaf_ok(pki, pki.admin_crt_path, pki.admin_key_path) is None:
        cert_pem, key_pem = issue_client_cert(pki, ADMIN_COMMON_NAME, [ADMIN_ORGANIZATION])
        _write_pair(pki.admin_crt_path, pki.admin_key_path, cert_pem, key_pem)

    _ensure_sa_keys(pki)
    return pki


# --------------------------------------------------------------------------- consumers


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    pki: Pki,
    user: str = "admin",
    cluster: str = "kybernetes",
    context: str = "kybernetes",
    client_cert: bytes | None = None,
    client_key: bytes | None = None,
    token: str | None = None,
) -> None:
    """Write a self-contained kubeconfig (mode 0600, atomically).

    Credentials: `token` if given, else `client_cert`/`client_key` if given, else the
    admin cert and key from `pki`. The CA is always embedded.
    """
    user_entry: dict[str, str] = {}
    if token is not None:
        user_entry["token"] = token
    if client_cert is not None or client_key is not None:
        if client_cert is None or client_key is None:
            raise ValueError("client_cert and client_key go together")
    elif token is None:
        client_cert = pki.admin_crt_path.read_bytes()
        client_key = pki.admin_key_path.read_bytes()
    if client_cert is not None and client_key is not None:
        user_entry["client-certificate-data"] = _b64(client_cert)
        user_entry["client-key-data"] = _b64(client_key)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca_pem)},
            }
        ],
        "users": [{"name": user, "user": user_entry}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
    }
    text = yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
    _atomic_write(Path(path), text.encode(), 0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def server_ssl_context(pki: Pki) -> ssl.SSLContext:
    """TLS server context for the apiserver.

    Client certs are verified against the cluster CA but optional (CERT_OPTIONAL), so
    bearer-token clients connect without one; a presented cert that fails verification
    aborts the handshake. ALPN offers only http/1.1: the server speaks no HTTP/2.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # As Go's TLS server: no renegotiation, so a connection's client cert is fixed.
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    ctx.load_cert_chain(pki.serving_crt_path, pki.serving_key_path)
    ctx.load_verify_locations(cafile=str(pki.ca_crt_path))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def client_ssl_context(
    pki: Pki, *, cert_path: Path | None = None, key_path: Path | None = None
) -> ssl.SSLContext:
    """TLS client context that trusts the cluster CA, optionally presenting a client cert."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki.ca_crt_path))
    if cert_path is not None:
        ctx.load_cert_chain(cert_path, key_path)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
