"""TLS in transit: the official SDK over HTTPS with a test CA, TLS 1.2/1.3 only with AES-256-GCM available,
mutual TLS, certificate reload on SIGHUP, and outbound calls (the audit export to moto over HTTPS) that verify
the server's certificate against a configured CA bundle."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest
from pinecone import Pinecone, ServerlessSpec

from conftest import SDK_MAJOR, Server, new_api_key, raw_request

SERVERLESS = ServerlessSpec(cloud="aws", region="us-east-1")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class PKI:
    """A CA, certificates it signed (server, second server, client), and a client certificate of another CA."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = self.authority("ca")
        self.other_ca = self.authority("other-ca")
        self.server = self.issue("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        self.server2 = self.issue("server2", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        self.client = self.issue("client", "ca", "extendedKeyUsage=clientAuth")
        self.stranger = self.issue("stranger", "other-ca", "extendedKeyUsage=clientAuth")

    def path(self, name):
        return os.path.join(self.dir, name)

    def authority(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=Conifer test {name}", cwd=self.dir)
        return self.path(f"{name}.pem")

    def issue(self, name, issuer, extension):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=self.dir)
        with open(self.path(f"{name}.ext"), "w") as ext:
            ext.write(extension + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=self.dir)
        return self.path(f"{name}.pem"), self.path(f"{name}.key")


@pytest.fixture(scope="module")
def pki():
    directory = tempfile.mkdtemp(prefix="conifer-pki-")
    yield PKI(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="conifer-tls-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def tls_server(root, pki, *extra, cert=None):
    cert_file, key_file = cert or pki.server
    # Copies, so a test can replace them in place for a reload.
    shutil.copy(cert_file, os.path.join(root, "tls.pem"))
    shutil.copy(key_file, os.path.join(root, "tls.key"))
    server = Server(os.path.join(root, "data"), new_api_key(), "--tls-cert", os.path.join(root, "tls.pem"),
                    "--tls-key", os.path.join(root, "tls.key"), *extra)
    server.ssl_context = ssl.create_default_context(cafile=pki.ca)
    return server.start()


def port_of(server):
    return int(server.url.rsplit(":", 1)[1])


def handshake(server, context):
    """Opens a TLS connection and returns (version, cipher name, peer certificate DER)."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            return sock.version(), sock.cipher()[0], sock.getpeercert(binary_form=True)


def test_the_sdk_works_over_https_with_a_test_ca(root, pki):
    server = tls_server(root, pki)
    try:
        assert server.url.startswith("https://")
        pc = Pinecone(api_key=server.api_key, host=server.url, ssl_ca_certs=pki.ca)
        pc.create_index(name="secure", dimension=3, metric="cosine", spec=SERVERLESS)
        host = pc.describe_index("secure").host
        assert host.startswith("https://localhost:"), host
        index = pc.Index(host=host)
        index.upsert(vectors=[("a", [1.0, 0.0, 0.0]), ("b", [0.0, 1.0, 0.0])])
        assert index.query(vector=[1.0, 0.1, 0.0], top_k=1).matches[0].id == "a"
        # Plain HTTP to the TLS port gets nothing useful, and a client that does not trust the CA is refused.
        with pytest.raises(Exception):
            urllib.request.urlopen(server.url.replace("https", "http") + "/health", timeout=5).read()
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(server, ssl.create_default_context())
    finally:
        server.stop()


def test_the_private_listener_serves_tls_too(root, pki):
    """The TLS flags apply to the private listener: the SDK reaches an index through its https private_host."""
    from conftest import admin

    server = tls_server(root, pki, "--private-listen", "127.0.0.1:0")
    try:
        private = server.private_url()
        assert private.startswith("https://")
        pc = Pinecone(api_key=server.api_key, host=server.url, ssl_ca_certs=pki.ca)
        pc.create_index(name="secure-private", dimension=2, metric="cosine", spec=SERVERLESS)
        project = pc.describe_index("secure-private").host.split("/data/")[1].split("/")[0]
        status, _ = admin(server, "POST", f"/admin/projects/{project}/private-endpoints",
                          {"name": "loopback", "region": "us-east-1", "allowed_cidrs": ["127.0.0.0/8"]})
        assert status == 201
        host = pc.describe_index("secure-private").private_host
        assert host.startswith("https://localhost:") and host != pc.describe_index("secure-private").host, host
        index = pc.Index(host=host)
        index.upsert(vectors=[("a", [1.0, 0.0])])
        assert index.query(vector=[1.0, 0.0], top_k=1).matches[0].id == "a"
        with pytest.raises(Exception):
            urllib.request.urlopen(private.replace("https", "http") + "/health", timeout=5).read()
    finally:
        server.stop()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_only_tls_12_and_13_with_aes_256_gcm_available(root, pki):
    server = tls_server(root, pki)
    try:
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_verify_locations(pki.ca)
            # Let this client speak the old protocol, so the refusal is the server's.
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.minimum_version = version
            context.maximum_version = version
            with pytest.raises(ssl.SSLError) as refused:
                handshake(server, context)
            # The server's alert, not this client declining.
            assert "ALERT_PROTOCOL_VERSION" in str(refused.value), refused.value
        tls12 = ssl.create_default_context(cafile=pki.ca)
        tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        tls12.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
        assert handshake(server, tls12)[:2] == ("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")
        tls13 = ssl.create_default_context(cafile=pki.ca)
        tls13.minimum_version = ssl.TLSVersion.TLSv1_3
        version, cipher, _ = handshake(server, tls13)
        assert version == "TLSv1.3" and cipher.startswith("TLS_")
        # TLS 1.3's AES-256-GCM suite, asked for explicitly through openssl.
        result = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port_of(server)}", "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384",
             "-CAfile", pki.ca, "-servername", "localhost"], input="", capture_output=True, text=True, timeout=30)
        assert "TLS_AES_256_GCM_SHA384" in result.stdout and "Verify return code: 0 (ok)" in result.stdout, result.stdout
    finally:
        server.stop()


@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_tls_12_offers_only_ecdhe_with_aead(root, pki, key):
    """Mozilla's "intermediate" profile: with an EC or an RSA certificate, TLS 1.2 clients get ECDHE (forward
    secrecy) with GCM or ChaCha20-Poly1305; CBC suites, SHA-1 MACs and static RSA key exchange are refused."""
    cert = None
    if key == "rsa":
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.pem", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", cwd=root)
        cert = (os.path.join(root, "rsa.pem"), os.path.join(root, "rsa.key"))
    server = tls_server(root, pki, cert=cert)
    trusted = cert[0] if cert else pki.ca

    def tls12(ciphers):
        context = ssl.create_default_context(cafile=trusted)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(ciphers + ":@SECLEVEL=0")
        return context

    try:
        auth = "ECDSA" if key == "ec" else "RSA"
        for good in (f"ECDHE-{auth}-AES128-GCM-SHA256", f"ECDHE-{auth}-AES256-GCM-SHA384", f"ECDHE-{auth}-CHACHA20-POLY1305"):
            assert handshake(server, tls12(good))[:2] == ("TLSv1.2", good)
        weak = [f"ECDHE-{auth}-AES128-SHA", f"ECDHE-{auth}-AES256-SHA", f"ECDHE-{auth}-AES128-SHA256"]
        if key == "rsa":
            weak += ["AES256-SHA", "AES128-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384"]
        for bad in weak:
            with pytest.raises(ssl.SSLError) as refused:
                handshake(server, tls12(bad))
            assert "HANDSHAKE_FAILURE" in str(refused.value) or "NO_SHARED_CIPHER" in str(refused.value), (bad, refused.value)
    finally:
        server.stop()


def test_mutual_tls_accepts_the_cas_clients_only(root, pki):
    server = tls_server(root, pki, "--tls-client-ca", pki.ca)
    try:
        def health(cert=None):
            context = ssl.create_default_context(cafile=pki.ca)
            if cert:
                context.load_cert_chain(*cert)
            with urllib.request.urlopen(server.url + "/health", timeout=10, context=context) as response:
                return response.status

        assert health(pki.client) == 200
        for cert in (None, pki.stranger):
            with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
                health(cert)
        server.ssl_context = ssl.create_default_context(cafile=pki.ca)
        server.ssl_context.load_cert_chain(*pki.client)
        assert raw_request(server, "GET", "/indexes")[0] == 200
    finally:
        server.stop()


def test_sighup_reloads_the_certificate_and_a_bad_pair_keeps_the_old_one(root, pki):
    server = tls_server(root, pki)
    try:
        context = ssl.create_default_context(cafile=pki.ca)
        first = handshake(server, context)[2]
        assert first == ssl.PEM_cert_to_DER_cert(open(pki.server[0]).read())
        # A certificate without its key is refused at reload; the server keeps serving the old pair.
        shutil.copy(pki.server2[0], os.path.join(root, "tls.pem"))
        server.process.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert handshake(server, context)[2] == first
        shutil.copy(pki.server2[1], os.path.join(root, "tls.key"))
        server.process.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while handshake(server, context)[2] == first and time.time() < deadline:
            time.sleep(0.2)
        assert handshake(server, context)[2] == ssl.PEM_cert_to_DER_cert(open(pki.server2[0]).read())
        assert raw_request(server, "GET", "/indexes")[0] == 200
    finally:
        server.stop()
    with open(server.log_path) as log:
        text = log.read()
    assert "TLS certificate reload failed" in text


def test_a_public_listener_is_allowed_with_tls(root, pki):
    server = tls_server(root, pki, "--host", "0.0.0.0")
    try:
        assert raw_request(server, "GET", "/indexes")[0] == 200
    finally:
        server.stop()


@pytest.mark.skipif(SDK_MAJOR < 10, reason="moto is installed with the 10.x SDK's requirements")
def test_outbound_calls_verify_the_certificate_against_the_ca_bundle(root, pki, monkeypatch):
    from test_audit_export import AWS_ENV, Moto, admin, operator_allows

    moto = Moto(tls=(*pki.server, pki.ca)).start()
    try:
        for name, value in AWS_ENV.items():
            monkeypatch.setenv(name, value)
        results = {}
        for trusted in (False, True):
            if trusted:
                monkeypatch.setenv("AWS_CA_BUNDLE", pki.ca)
            else:
                monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
            data = os.path.join(root, f"data-{trusted}")
            server = Server(data, new_api_key(), *operator_allows(moto)).start()
            try:
                results[trusted] = admin(server, "PUT", "/admin/audit-log", {"bucket": "audit-bucket", "endpoint_url": moto.url, "region": "us-east-1"})
            finally:
                server.stop()
        assert results[False][0] == 400 and "certificate" in results[False][1]["error"]["message"].lower(), results[False]
        assert results[True][0] == 200, results[True]
        assert "audit-log-access-test" in moto.objects()
    finally:
        moto.stop()
