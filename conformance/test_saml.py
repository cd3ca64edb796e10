"""SAML single sign-on against a real identity provider: pysaml2's IdP, signing with Debian's xmlsec1, configured with
the SP metadata Conifer serves. IdP- and SP-initiated sign-in start a console session; a new user is provisioned with
the default role and an existing one is matched by email. The attack suite posts XML signature wrapping variants 1–8,
comment injection in NameID, an expired assertion, a wrong audience, a wrong recipient, a replayed assertion, an
unsigned assertion inside a signed response, a response signed by another certificate and a DOCTYPE/XXE payload:
each is refused with a clear error and an audit event of the failure, and none creates a session. Prints the attack
table and the ACS's sign-in latency (p50)."""
import base64
import copy
import hashlib
import html
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

saml2 = pytest.importorskip("saml2")
etree = pytest.importorskip("lxml.etree")

from saml2 import BINDING_HTTP_REDIRECT  # noqa: E402
from saml2 import server as saml2_server  # noqa: E402
from saml2 import xmldsig  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID  # noqa: E402

from conftest import Server, admin, conifer_binary, new_api_key, raw_request  # noqa: E402

IDP_ENTITY = "https://idp.corp.example/metadata"
IDP_SSO = "https://idp.corp.example/sso"
OTHER_SP = "https://other-sp.example/metadata"
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


def make_key(directory, name):
    key, cert = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={name}"],
        check=True, capture_output=True,
    )
    return key, cert


class IdP:
    """pysaml2's identity provider with its own key, trusting the SP metadata given (and a second SP's)."""

    def __init__(self, directory, name, sp_metadata, acs, lifetime_minutes=5, keypair=None, sso_url=IDP_SSO):
        self.key, self.cert = keypair or make_key(directory, name)
        other = sp_metadata.replace('entityID="', 'entityID="' + OTHER_SP + '" x="', 1)
        config = IdPConfig()
        config.load({
            "entityid": IDP_ENTITY,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(sso_url, BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                "policy": {"default": {"lifetime": {"minutes": lifetime_minutes}, "attribute_restrictions": None, "name_form": NAME_FORMAT_URI}},
            }},
            "key_file": self.key, "cert_file": self.cert,
            "metadata": {"inline": [sp_metadata, other]},
            "xmlsec_binary": shutil.which("xmlsec1"),
        })
        self.server = saml2_server.Server(config=config)
        self.acs = acs

    def response(self, email, sp_entity, in_response_to=None, destination=None, sign_assertion=True, sign_response=False):
        return str(self.server.create_authn_response(
            identity={}, in_response_to=in_response_to, destination=destination or self.acs, sp_entity_id=sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email), sign_assertion=sign_assertion, sign_response=sign_response,
            sign_alg=xmldsig.SIG_RSA_SHA256, digest_alg=xmldsig.DIGEST_SHA256,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
        ))

    def request_id(self, location):
        """The ID of the AuthnRequest an SP-initiated redirect carries (parsed by the IdP, as it would on its page)."""
        query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        return request.message.id, query["RelayState"][0]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browse(server, method, path, form=None, cookie=None):
    """A browser's request without following redirects: (status, headers, body text)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method)
    if form is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if cookie:
        request.add_header("Cookie", cookie)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def post_response(server, organization, xml, relay_state="/console"):
    body = xml.encode() if isinstance(xml, str) else xml
    return browse(server, "POST", f"/saml/{organization}/acs", {"SAMLResponse": base64.b64encode(body).decode(), "RelayState": relay_state})


def session_cookie(headers):
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("conifer_session="):
            return value.split(";", 1)[0]
    return None


def console_user(server, cookie):
    """The email the console shows for a session (None when the session does not sign in)."""
    status, _, page = browse(server, "GET", "/console", cookie=cookie)
    return page if status == 200 else None


@pytest.fixture(scope="module")
def sso():
    root = tempfile.mkdtemp(prefix="conifer-saml-")
    server = Server(os.path.join(root, "data"), new_api_key()).start()
    status, organizations = admin(server, "GET", "/admin/organizations")
    organization = organizations["data"][0]["id"]
    status, settings = admin(server, "GET", f"/admin/organizations/{organization}/sso")
    assert status == 200, settings
    metadata = urllib.request.urlopen(server.url + f"/saml/{organization}/metadata", timeout=30).read().decode()
    idp = IdP(root, "idp", metadata, settings["acs_url"])
    with open(idp.cert) as file:
        certificate = file.read()
    status, projects = admin(server, "GET", "/admin/projects")
    project = projects["data"][0]["id"]
    status, body = admin(server, "PUT", f"/admin/organizations/{organization}/sso", {
        "idp_entity_id": IDP_ENTITY, "sso_url": IDP_SSO, "certificate": certificate, "domains": ["corp.example"],
        "enforced": True, "default_role": "OrgMember", "default_project_roles": [{"project_id": project, "role": "ProjectMember"}]})
    assert status == 200, body
    yield {"server": server, "organization": organization, "idp": idp, "sp": settings["sp_entity_id"], "acs": settings["acs_url"],
           "metadata": metadata, "root": root}
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def login_events(server, since):
    """The user-login events after the first `since` (oldest first)."""
    status, reply = admin(server, "GET", "/admin/audit-events?action=login&limit=1000")
    assert status == 200, reply
    events = [event for event in reversed(reply["data"]) if event["event"]["action"] == "login"]
    return events[since:]


def test_an_idp_initiated_sign_in_provisions_the_user_with_the_default_role(sso):
    server, organization, idp = sso["server"], sso["organization"], sso["idp"]
    status, headers, page = post_response(server, organization, idp.response("New.Person@corp.example", sso["sp"]), "/console/projects")
    assert status == 200, page
    cookie = session_cookie(headers)
    assert cookie and "url=/console/projects" in page
    assert "new.person@corp.example" in console_user(server, cookie)
    status, users = admin(server, "GET", "/admin/users?email=new.person@corp.example")
    assert status == 200 and len(users["data"]) == 1, users
    status, bindings = admin(server, "GET", f"/admin/role-bindings?principal_type=user&principal_id={users['data'][0]['id']}")
    assert sorted(binding["role"] for binding in bindings["data"]) == ["OrgMember", "ProjectMember"], bindings
    # A relay state naming another site is not followed.
    status, headers, page = post_response(server, organization, idp.response("new.person@corp.example", sso["sp"]), "https://evil.example/")
    assert status == 200 and "url=/console\"" in page and "evil" not in page


def test_an_sp_initiated_sign_in_answers_its_own_request_once(sso):
    server, organization, idp = sso["server"], sso["organization"], sso["idp"]
    status, _, page = browse(server, "GET", "/console/sso?email=" + urllib.parse.quote("sp.user@corp.example"))
    location = html.unescape(page.split('id="identity-provider" href="', 1)[1].split('"', 1)[0])
    assert status == 200 and location.startswith(IDP_SSO + "?SAMLRequest="), page
    request_id, relay_state = idp.request_id(location)
    answer = idp.response("sp.user@corp.example", sso["sp"], in_response_to=request_id)
    status, headers, page = post_response(server, organization, answer, relay_state)
    assert status == 200 and session_cookie(headers), page
    # The same request answered again (a new assertion) is refused: it was consumed.
    again = idp.response("sp.user@corp.example", sso["sp"], in_response_to=request_id)
    status, headers, page = post_response(server, organization, again)
    assert status == 403 and session_cookie(headers) is None and "answers no sign-in" in page
    # As is an answer to a request this server never sent.
    status, _, page = post_response(server, organization, idp.response("sp.user@corp.example", sso["sp"], in_response_to="_forged"))
    assert status == 403 and "answers no sign-in" in page


def test_an_existing_user_is_matched_by_email_and_enforcement_refuses_her_password(sso):
    server, organization, idp = sso["server"], sso["organization"], sso["idp"]
    status, invite = admin(server, "POST", "/admin/invites", {"email": "ana@corp.example", "role_bindings": [{"resource_type": "organization", "role": "OrgManager"}]})
    assert status in (200, 201), invite
    status, accepted = raw_request(server, "POST", "/oauth/accept-invite", {"token": invite["token"], "password": "correct horse battery staple"})
    assert status == 200, accepted
    status, reply = raw_request(server, "POST", "/oauth/token", {"grant_type": "password", "username": "ana@corp.example", "password": "correct horse battery staple"})
    assert status == 403 and reply["error"] == "access_denied" and "single sign-on" in reply["error_description"], reply
    status, headers, _ = post_response(server, organization, idp.response("ana@corp.example", sso["sp"]))
    assert status == 200 and session_cookie(headers)
    status, users = admin(server, "GET", "/admin/users?email=ana@corp.example")
    assert [user["id"] for user in users["data"]] == [accepted["id"]], "the same user, not a new one"
    status, bindings = admin(server, "GET", f"/admin/role-bindings?principal_type=user&principal_id={accepted['id']}")
    assert [binding["role"] for binding in bindings["data"]] == ["OrgManager"], "her role is kept, not reset to the default"


# The attack suite. Each builder takes the fixture and returns the XML posted; `reason` is part of the refusal.

def signed(sso, email="victim@corp.example", **kwargs):
    return etree.fromstring(sso["idp"].response(email, sso["sp"], **kwargs).encode())


def serialize(root):
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def the_assertion(root):
    return root.find("saml:Assertion", NS)


def evil_copy(element, email="admin@corp.example", keep_signature=False):
    """A copy of a signed element with the NameID changed and (unless kept) its signature removed."""
    copied = copy.deepcopy(element)
    if not keep_signature:
        for signature in copied.findall("ds:Signature", NS):
            copied.remove(signature)
    for name_id in copied.iter("{%s}NameID" % NS["saml"]):
        name_id.text = email
    return copied


def evil_response(sso):
    """A response signed as a whole, its evil copy under a new ID, and the original's signature taken out of it."""
    root = signed(sso, sign_response=True)
    original = copy.deepcopy(root)
    evil = evil_copy(root)
    evil.set("ID", "_evil" + root.get("ID"))
    signature = original.find("ds:Signature", NS)
    original.remove(signature)
    return evil, original, signature


def xsw1(sso):
    # The evil response carries the signature, the signed original inside it.
    evil, original, signature = evil_response(sso)
    signature.append(original)
    evil.insert(1, signature)
    return serialize(evil)


def xsw2(sso):
    # As XSW1, with the signed original before the signature (a detached signature).
    evil, original, signature = evil_response(sso)
    evil.insert(1, original)
    evil.insert(2, signature)
    return serialize(evil)


def xsw3(sso):
    # An unsigned evil assertion (same ID) before the signed one.
    root = signed(sso)
    assertion = the_assertion(root)
    root.insert(list(root).index(assertion), evil_copy(assertion))
    return serialize(root)


def xsw4(sso):
    # The evil assertion wraps the signed one.
    root = signed(sso)
    assertion = the_assertion(root)
    evil = evil_copy(assertion)
    root.replace(assertion, evil)
    evil.append(assertion)
    return serialize(root)


def changed_with_original(sso):
    """The signed assertion with its NameID changed (its signature kept), and an unsigned copy of the original."""
    root = signed(sso)
    assertion = the_assertion(root)
    original = evil_copy(assertion, email="victim@corp.example")
    for name_id in assertion.iter("{%s}NameID" % NS["saml"]):
        name_id.text = "admin@corp.example"
    return root, assertion, original


def xsw5(sso):
    # The copy of the original at the end of the message.
    root, _, original = changed_with_original(sso)
    root.append(original)
    return serialize(root)


def xsw6(sso):
    # The copy of the original inside the changed assertion's signature.
    root, assertion, original = changed_with_original(sso)
    assertion.find("ds:Signature", NS).append(original)
    return serialize(root)


def xsw7(sso):
    # An Extensions block holding the signed assertion; an unsigned evil one in its place.
    root = signed(sso)
    assertion = the_assertion(root)
    extensions = etree.Element("{%s}Extensions" % NS["samlp"])
    root.replace(assertion, evil_copy(assertion))
    extensions.append(assertion)
    root.insert(1, extensions)
    return serialize(root)


def xsw8(sso):
    # The evil assertion keeps the signature, which holds an Object with the original (its signature removed).
    root = signed(sso)
    assertion = the_assertion(root)
    original = evil_copy(assertion, email="victim@corp.example")
    evil = evil_copy(assertion, keep_signature=True)
    holder = etree.SubElement(evil.find("ds:Signature", NS), "{%s}Object" % NS["ds"])
    holder.append(original)
    root.replace(assertion, evil)
    return serialize(root)


def comment_injection(sso):
    # Signed for victim@corp.example.evil.example; a comment makes a careless reader see victim@corp.example.
    text = sso["idp"].response("victim@corp.example.evil.example", sso["sp"])
    return text.replace("victim@corp.example.evil.example", "victim@corp.example<!---->.evil.example")


def expired(sso):
    # The configured IdP's key, with assertions that ended ten minutes ago (beyond the three minutes of skew).
    idp = IdP(sso["root"], "idp", sso["metadata"], sso["acs"], lifetime_minutes=-10, keypair=(sso["idp"].key, sso["idp"].cert))
    return idp.response("victim@corp.example", sso["sp"])


def wrong_audience(sso):
    return sso["idp"].response("victim@corp.example", OTHER_SP)


def wrong_recipient(sso):
    # Signed for another ACS; the (unsigned) response's Destination then set to Conifer's.
    root = signed(sso, destination="https://other-sp.example/acs")
    root.set("Destination", sso["acs"])
    return serialize(root)


def unsigned_assertion_in_signed_response(sso):
    return sso["idp"].response("victim@corp.example", sso["sp"], sign_assertion=False, sign_response=True)


def other_certificate(sso):
    return IdP(sso["root"], "intruder", sso["metadata"], sso["acs"]).response("victim@corp.example", sso["sp"])


def doctype_xxe(sso):
    text = sso["idp"].response("victim@corp.example", sso["sp"]).replace('<?xml version="1.0"?>', "")
    return '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + text.replace("victim@corp.example", "&x;")


def tampered(sso):
    return sso["idp"].response("victim@corp.example", sso["sp"]).replace("victim@corp.example", "admin@corp.example")


def fresh_ids(xml):
    """The same message with every repeated ID made unique (the later copy's), so that the refusal has to come from
    the signature's binding to the element read, not from the duplicate-ID check."""
    root = etree.fromstring(xml)
    seen = set()
    for element in root.iter():
        for name in ("ID", "Id"):
            value = element.get(name)
            if value is not None:
                if value in seen:
                    element.set(name, value + "-copy")
                seen.add(element.get(name))
    return serialize(root)


XSW = [("XSW1", xsw1), ("XSW2", xsw2), ("XSW3", xsw3), ("XSW4", xsw4), ("XSW5", xsw5), ("XSW6", xsw6), ("XSW7", xsw7), ("XSW8", xsw8)]
# A reason of None: refused for any reason but a repeated ID.
ATTACKS = [(name, build, "more than once") for name, build in XSW] + [
    (name + ", copies with fresh IDs", lambda sso, build=build: fresh_ids(build(sso)), None) for name, build in XSW
] + [
    ("comment injection in NameID", comment_injection, "only text"),
    ("expired assertion", expired, "expired"),
    ("wrong audience", wrong_audience, "another audience"),
    ("wrong recipient", wrong_recipient, "Recipient"),
    ("unsigned assertion in a signed response", unsigned_assertion_in_signed_response, "assertion is not signed"),
    ("signed by another certificate", other_certificate, "configured certificate"),
    ("DOCTYPE/XXE", doctype_xxe, "document type declaration"),
    ("NameID changed after signing", tampered, "digest does not match"),
]


def test_the_attack_suite_is_refused_recorded_and_starts_no_session(sso):
    server, organization = sso["server"], sso["organization"]
    before = len(login_events(server, 0))
    table = []
    for name, build, reason in ATTACKS:
        status, headers, page = post_response(server, organization, build(sso))
        refused = status == 403 and session_cookie(headers) is None and "Single sign-on failed" in page
        shown = html.unescape(page.split("Single sign-on failed: ", 1)[-1].split("</p>", 1)[0]) if refused else page[:200]
        table.append((name, status, shown))
        assert refused and (reason in page if reason else "more than once" not in page), f"{name}: {status} {shown}"
    # The replay: a valid response is accepted once, refused the second time.
    valid = sso["idp"].response("replayed@corp.example", sso["sp"])
    status, headers, _ = post_response(server, organization, valid)
    assert status == 200 and session_cookie(headers)
    status, headers, page = post_response(server, organization, valid)
    assert status == 403 and session_cookie(headers) is None and "already used" in page
    table.append(("replayed assertion", status, html.unescape(page.split("Single sign-on failed: ", 1)[-1].split("</p>", 1)[0])))

    events = login_events(server, before)
    failures = [event for event in events if event["event"]["outcome"]["result"] == "failure"]
    assert len(failures) == len(ATTACKS) + 1, [event["event"]["outcome"] for event in events]
    assert all(event["event"]["outcome"].get("reason") for event in failures)
    assert {event["organization_id"] for event in failures} == {organization}
    status, users = admin(server, "GET", "/admin/users?email=admin@corp.example")
    assert users["data"] == [], "no attack made the forged user"
    print("\nSAML attack suite (variant -> HTTP status: refusal)")
    for name, status, shown in table:
        print(f"  {name:42} {status}: {shown}")


def test_sign_in_latency_of_the_acs(sso):
    """Prints the ACS's p50 over fresh IdP-initiated responses (each signed by the IdP beforehand): first sign-ins,
    which provision the user, and sign-ins of an existing user."""
    server, organization, idp = sso["server"], sso["organization"], sso["idp"]
    for label, emails in (("first sign-ins (provisioning)", [f"timed{i}@corp.example" for i in range(25)]),
                          ("an existing user's sign-ins", ["timed0@corp.example"] * 25)):
        responses = [idp.response(email, sso["sp"]) for email in emails]
        timings = []
        for xml in responses:
            started = time.perf_counter()
            status, headers, _ = post_response(server, organization, xml)
            timings.append(time.perf_counter() - started)
            assert status == 200 and session_cookie(headers)
        print(f"\nACS latency, {label}, {len(timings)} sign-ins: p50 {statistics.median(timings) * 1000:.1f} ms, "
              f"min {min(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms")


def test_xmlsec1_agrees_with_the_verifier_on_what_pysaml2_signs(sso):
    """The oracle: xmlsec1 verifies the responses the ACS accepts with the configured certificate."""
    path = os.path.join(sso["root"], "response.xml")
    with open(path, "w") as file:
        file.write(sso["idp"].response("oracle@corp.example", sso["sp"]))
    result = subprocess.run(
        ["xmlsec1", "--verify", "--pubkey-cert-pem", sso["idp"].cert, "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", path],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr


def test_the_cli_shows_and_sets_it_and_the_operator_breaks_glass(sso):
    """`conifer sso show|set` through the Admin API; `conifer org sso-enforcement off` on the data directory lets a
    user of the domains sign in with her password again (recorded with the operator as the actor)."""
    server, idp = sso["server"], sso["idp"]
    config = tempfile.mkdtemp(prefix="conifer-cli-")

    def cli(*args):
        env = dict(os.environ, CONIFER_CONFIG_DIR=config, CONIFER_URL=server.url)
        result = subprocess.run([conifer_binary(), *args], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    cli("login", "--client-id", server.client_id, "--client-secret", server.client_secret)
    shown = cli("sso", "show")
    assert f"acs_url: {sso['acs']}" in shown and "enforced: true" in shown and "certificate_fingerprint_sha256: " in shown
    set_ = cli("sso", "set", "--idp-entity-id", IDP_ENTITY, "--sso-url", IDP_SSO, "--certificate", idp.cert,
               "--domains", "corp.example, subsidiary.example", "--enforce", "--default-role", "OrgMember")
    assert "domains: corp.example, subsidiary.example" in set_ or "subsidiary.example" in set_, set_

    password = {"grant_type": "password", "username": "ana@corp.example", "password": "correct horse battery staple"}
    assert raw_request(server, "POST", "/oauth/token", password)[0] == 403
    out = subprocess.run([conifer_binary(), "org", "sso-enforcement", "off", "--data-dir", server.data_dir], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "off" in out.stdout, out.stderr
    assert raw_request(server, "POST", "/oauth/token", password)[0] == 200, "break-glass: the password works again"
    status, events = admin(server, "GET", "/admin/audit-events?resource_type=sso&limit=1")
    assert events["data"][0]["actor"]["principal_type"] == "system" and events["data"][0]["event"]["parameters"] == {"enforced": False}


def start_sp_sign_in(sso, email, query=""):
    """The SP-initiated start as a browser sees it: the IdP URL the console's page moves on to."""
    status, _, page = browse(sso["server"], "GET", "/console/sso?email=" + urllib.parse.quote(email) + query)
    assert status == 200, page
    return html.unescape(page.split('id="identity-provider" href="', 1)[1].split('"', 1)[0])


def test_the_code_for_the_command_line_needs_its_verifier_and_works_once(sso):
    server, organization, idp = sso["server"], sso["organization"], sso["idp"]
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    location = start_sp_sign_in(sso, "coder@corp.example", f"&cli_port=5555&code_challenge={challenge}")
    request_id, _ = idp.request_id(location)
    status, headers, page = post_response(server, organization, idp.response("coder@corp.example", sso["sp"], in_response_to=request_id))
    assert status == 200 and session_cookie(headers) is None, "a command-line sign-in starts no console session"
    callback = html.unescape(page.split('url=', 1)[1].split('"', 1)[0])
    assert callback.startswith("http://127.0.0.1:5555/callback?code="), callback
    code = urllib.parse.parse_qs(urllib.parse.urlparse(callback).query)["code"][0]
    grant = {"grant_type": "authorization_code", "code": code}
    assert raw_request(server, "POST", "/oauth/token", grant | {"code_verifier": "w" * 50})[0] == 401, "another verifier"
    # The failed try used the code up: a stolen code is worth one guess, and the right verifier now fails too.
    assert raw_request(server, "POST", "/oauth/token", grant | {"code_verifier": verifier})[0] == 401
    status, _ = raw_request(server, "POST", "/oauth/token", {"grant_type": "authorization_code", "code": "x", "code_verifier": verifier})
    assert status == 401
    for bad in ("&cli_port=80&code_challenge=" + challenge, "&cli_port=5555&code_challenge=short"):
        status, _, page = browse(server, "GET", "/console/sso?email=coder%40corp.example" + bad)
        assert status == 400, page


def test_conifer_login_sso_receives_its_token_on_a_loopback_callback(sso):
    server, organization, idp = sso["server"], sso["organization"], sso["idp"]
    config = tempfile.mkdtemp(prefix="conifer-cli-")
    env = dict(os.environ, CONIFER_CONFIG_DIR=config)
    login = subprocess.Popen(
        [conifer_binary(), "login", "--sso", "--email", "cli.user@corp.example", "--url", server.url, "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        start = login.stdout.readline().rsplit(" ", 1)[-1].strip()
        assert start.startswith(server.url + "/console/sso?"), start
        # The browser: the console's page, the IdP, the ACS, then the loopback the ACS's page moves on to.
        status, _, page = browse(server, "GET", start[len(server.url):])
        location = html.unescape(page.split('id="identity-provider" href="', 1)[1].split('"', 1)[0])
        request_id, _ = idp.request_id(location)
        status, headers, page = post_response(server, organization, idp.response("cli.user@corp.example", sso["sp"], in_response_to=request_id))
        callback = html.unescape(page.split('url=', 1)[1].split('"', 1)[0])
        with urllib.request.urlopen(callback, timeout=30) as reply:
            assert reply.status == 200 and "Signed in" in reply.read().decode()
        out, err = login.communicate(timeout=60)
        assert login.returncode == 0 and "Logged in" in out, (out, err)
    finally:
        if login.poll() is None:
            login.kill()
    listed = subprocess.run([conifer_binary(), "member", "list", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0 and "cli.user@corp.example" in listed.stdout, (listed.stdout, listed.stderr)
    # Two sign-ins recorded: the ACS's (the assertion) and the token endpoint's (the code).
    status, events = admin(server, "GET", "/admin/audit-events?action=login&limit=10")
    mine = [event for event in events["data"] if event["event"]["resource_id"] == "cli.user@corp.example"]
    assert [event["event"]["outcome"]["result"] for event in mine] == ["success", "success"], mine
