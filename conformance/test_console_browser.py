"""The web console in a real browser: Debian's headless Chromium driven by Selenium through chromedriver, against a
freshly started `conifer serve`. One test per console procedure of Pinecone's documentation, end to end (what the page
did is checked through the Admin API, the SDK or the credential itself), each saving a screenshot (PNG) under
`CONIFER_ARTIFACTS` (default `.artifacts/console`); and the browser's own security: the cookie's flags, a form posted
from another origin refused, a member's console without the forms her role cannot use.
"""
import contextlib
import http.server
import os
import pathlib
import re
import secrets
import shutil
import tempfile
import threading

import pytest
from pinecone import Pinecone

from conftest import REPO, SDK_MAJOR, Server, admin, new_api_key, raw_request
from test_cmek import aws  # noqa: F401  (the moto KMS fixture)

pytestmark = pytest.mark.skipif(SDK_MAJOR < 10, reason="the console is the same for both SDKs; run once")

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402
pytest.importorskip("aiosmtpd")
from test_mail import SMTP_PASSWORD, SMTP_USER, Inbox, certificates, free_port, smtp_server  # noqa: E402, F401  (the SMTP CA fixture)

ARTIFACTS = pathlib.Path(os.environ.get("CONIFER_ARTIFACTS", REPO / ".artifacts" / "console"))
PASSWORD = "a long enough password"


@contextlib.contextmanager
def own_server(*arguments, env=None, inbox=None):
    """A server of its own (its owner a user, owner@example.com, who signs in); the Admin API checks use the bootstrap
    service account (conftest's `admin`). With mail configured, the owner's invitation is read from `inbox`."""
    root = tempfile.mkdtemp(prefix="conifer-console-")
    server = Server(os.path.join(root, "data"), new_api_key(), *arguments, env=env).start()
    try:
        invite_user(server, "owner@example.com", "OrgOwner", name="Olivia Owner", inbox=inbox)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def console():
    with own_server() as server:
        yield server


def invite_user(server, email, role, name=None, inbox=None):
    status, invite = admin(server, "POST", "/admin/invites", {"email": email, "role_bindings": [{"resource_type": "organization", "role": role}]})
    assert status == 201, invite
    token = re.search(r"Token: (pcinv_\S+)", inbox.wait_for(email)[2].get_content()).group(1) if inbox else invite["token"]
    body = {"token": token, "password": PASSWORD} | ({"name": name} if name else {})
    assert raw_request(server, "POST", "/oauth/accept-invite", body)[0] == 200


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def screenshot(driver, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    # The whole page: the window's width, the document's height.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(800, min(height + 120, 4000)))
    assert driver.save_screenshot(str(path)), path
    driver.set_window_size(1280, 800)
    assert path.stat().st_size > 5000, f"{path} looks empty"


def fill(driver, field_id, text):
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)


def submit(driver, label, within="//"):
    """Clicks the button with this text (inside the element `within` names) and waits for the next page."""
    button = driver.find_element(By.XPATH, f"{within}/button[normalize-space()='{label}']" if within != "//" else f"//button[normalize-space()='{label}']")
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 30).until(lambda d: old.id != d.find_element(By.TAG_NAME, "html").id)


def sign_in(driver, server, email):
    driver.get(server.url + "/console/sign-in")
    fill(driver, "email", email)
    fill(driver, "password", PASSWORD)
    submit(driver, "Sign in")
    assert driver.current_url == server.url + "/console", driver.page_source[:2000]


def sign_out(driver):
    submit(driver, "Sign out")
    assert driver.current_url.endswith("/console/sign-in")


def create_project(driver, server, name):
    driver.get(server.url + "/console")
    fill(driver, "project-name", name)
    submit(driver, "Create project")
    match = re.search(r"/console/projects/([0-9a-f-]{36})$", driver.current_url)
    assert match, driver.current_url
    return match.group(1)


def test_sign_in_and_create_a_project(console, browser):
    sign_in(browser, console, "owner@example.com")
    cookie = next(c for c in browser.get_cookies() if c["name"] == "conifer_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console" and not cookie["secure"]  # plain HTTP here
    assert "document.cookie" not in browser.page_source
    assert browser.execute_script("return document.cookie") == "", "script cannot read the session"
    project = create_project(browser, console, "search-prod")
    status, described = admin(console, "GET", f"/admin/projects/{project}")
    assert status == 200 and described["name"] == "search-prod"
    assert "Project search-prod" in browser.find_element(By.TAG_NAME, "h2").text
    screenshot(browser, "01-project.png")
    # A narrow window (a phone's width): nothing wider than the window, so no sideways scrolling.
    browser.set_window_size(400, 800)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= browser.execute_script("return window.innerWidth")
    assert browser.save_screenshot(str(ARTIFACTS / "01-project-narrow.png"))
    browser.set_window_size(1280, 800)
    browser.get(console.url + "/console")
    screenshot(browser, "00-overview.png")


def test_create_an_api_key_and_read_its_secret_once(console, browser):
    sign_in(browser, console, "owner@example.com")
    project = create_project(browser, console, "keys-" + secrets.token_hex(3))
    fill(browser, "key-name", "ingest <b>worker</b>")
    browser.find_element(By.NAME, "role_ProjectEditor").click()  # off (the default)
    browser.find_element(By.NAME, "role_DataPlaneEditor").click()  # on
    submit(browser, "Create API key")
    secret = browser.find_element(By.ID, "api-key").text
    assert secret.startswith("pcsk_")
    screenshot(browser, "02-api-key-secret.png")
    # The key works with the SDK, with the role ticked: data plane only.
    pc = Pinecone(api_key=secret, host=console.url)
    with pytest.raises(Exception) as refused:
        pc.list_indexes()
    assert getattr(refused.value, "status", None) == 403 or getattr(refused.value, "status_code", None) == 403
    # Back on the project page, the key is listed and its secret is not shown again; the name stays text.
    browser.find_element(By.LINK_TEXT, "Done").click()
    assert secret not in browser.page_source
    row = browser.find_element(By.XPATH, "//section[@aria-labelledby='api-keys']//tbody/tr")
    assert "ingest <b>worker</b>" in row.text and "DataPlaneEditor" in row.text and "pcsk_••••" in row.text
    assert not browser.find_elements(By.XPATH, "//section[@aria-labelledby='api-keys']//b")
    screenshot(browser, "03-api-key-masked.png")
    status, keys = admin(console, "GET", f"/admin/projects/{project}/api-keys")
    assert status == 200 and [k["roles"] for k in keys["data"]] == [["DataPlaneEditor"]]


def test_invite_a_member_who_accepts_then_change_her_role(console, browser):
    email = f"ada-{secrets.token_hex(3)}@example.com"
    sign_in(browser, console, "owner@example.com")
    browser.find_element(By.LINK_TEXT, "Members").click()
    fill(browser, "invite-email", email)
    Select(browser.find_element(By.ID, "invite-role")).select_by_visible_text("OrgMember")
    submit(browser, "Send invitation")
    link = browser.find_element(By.ID, "invite-link").text
    assert link.startswith(console.url + "/console/accept-invite?token=pcinv_")
    screenshot(browser, "04-invitation.png")
    sign_out(browser)

    # The invitee opens the link, chooses a password, signs in: an OrgMember's console.
    browser.get(link)
    fill(browser, "name", "Ada Lovelace")
    fill(browser, "password", PASSWORD)
    submit(browser, "Join the organization")
    assert "Your account is ready" in browser.page_source
    sign_in(browser, console, email)
    assert not browser.find_elements(By.LINK_TEXT, "Service accounts"), "an OrgMember has no service accounts page"
    browser.find_element(By.LINK_TEXT, "Members").click()
    assert not browser.find_elements(By.ID, "invite-email") and "Change role" not in browser.page_source
    screenshot(browser, "05-member-view.png")
    browser.get(console.url + "/console/service-accounts")
    assert "403" in browser.title and "service-accounts:read" in browser.page_source
    browser.get(console.url + "/console")
    sign_out(browser)

    # The owner makes her an OrgManager.
    sign_in(browser, console, "owner@example.com")
    browser.find_element(By.LINK_TEXT, "Members").click()
    _, users = admin(console, "GET", f"/admin/users?email={email}")
    user = users["data"][0]["id"]
    Select(browser.find_element(By.ID, f"role-{user}")).select_by_visible_text("OrgManager")
    submit(browser, "Change role", within=f"//form[@action='/console/users/{user}/role']")
    _, bindings = admin(console, "GET", f"/admin/role-bindings?principal_type=user&principal_id={user}")
    assert [b["role"] for b in bindings["data"]] == ["OrgManager"]
    assert Select(browser.find_element(By.ID, f"role-{user}")).first_selected_option.text == "OrgManager"
    screenshot(browser, "06-role-changed.png")


def test_an_invitation_mailed_is_accepted_in_the_browser(browser, certificates):
    """With mail configured (a real SMTP server, aiosmtpd over STARTTLS) the inviter never sees the token: the invitee
    follows the link in the mail, joins, and signs in."""
    inbox, port = Inbox(), free_port()
    smtp = smtp_server(inbox, port, certificates)
    try:
        with own_server("--mail-from", "conifer@example.com", "--smtp-ca-file", os.path.join(certificates, "ca.pem"), "--mail-retry-seconds", "1",
                        env={"CONIFER_SMTP_URL": f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@localhost:{port}"}, inbox=inbox) as server:
            sign_in(browser, server, "owner@example.com")
            browser.find_element(By.LINK_TEXT, "Members").click()
            fill(browser, "invite-email", "grace@example.com")
            Select(browser.find_element(By.ID, "invite-role")).select_by_visible_text("OrgMember")
            submit(browser, "Send invitation")
            assert browser.current_url == server.url + "/console/members" and not browser.find_elements(By.ID, "invite-link")
            assert "grace@example.com" in browser.page_source, "listed as pending"
            sign_out(browser)

            _, _, message, _, _ = inbox.wait_for("grace@example.com")
            link = re.search(r"(http\S+/console/accept-invite\?token=pcinv_\S+)", message.get_content()).group(1)
            assert link.startswith(server.url)
            browser.get(link)
            fill(browser, "name", "Grace Hopper")
            fill(browser, "password", PASSWORD)
            submit(browser, "Join the organization")
            assert "Your account is ready" in browser.page_source
            sign_in(browser, server, "grace@example.com")
            assert "OrgMember" in browser.find_element(By.TAG_NAME, "main").text
            screenshot(browser, "14-invited-by-mail.png")
    finally:
        smtp.stop()


def test_create_and_rotate_a_service_account(console, browser):
    sign_in(browser, console, "owner@example.com")
    browser.find_element(By.LINK_TEXT, "Service accounts").click()
    fill(browser, "account-name", "ci-pipeline")
    Select(browser.find_element(By.ID, "account-role")).select_by_visible_text("OrgManager")
    submit(browser, "Create service account")
    client_id = browser.find_element(By.ID, "client-id").text
    first = browser.find_element(By.ID, "client-secret").text
    screenshot(browser, "07-service-account-secret.png")

    def token(secret):
        return raw_request(console, "POST", "/oauth/token", {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})[0]

    assert token(first) == 200
    browser.find_element(By.LINK_TEXT, "Done").click()
    assert first not in browser.page_source
    submit(browser, "Rotate secret of ci-pipeline")
    second = browser.find_element(By.ID, "client-secret").text
    assert second != first and token(second) == 200 and token(first) == 401


def test_private_endpoint_and_private_only(console, browser):
    sign_in(browser, console, "owner@example.com")
    project = create_project(browser, console, "private-" + secrets.token_hex(3))
    fill(browser, "endpoint-name", "vpc-prod")
    fill(browser, "endpoint-vpc", "vpce-0123456789abcdef0")
    submit(browser, "Add endpoint")
    assert browser.current_url.endswith(f"/console/projects/{project}"), browser.page_source[:1500]
    browser.find_element(By.NAME, "private_endpoint_access_only").click()
    submit(browser, "Save settings")
    _, described = admin(console, "GET", f"/admin/projects/{project}")
    _, endpoints = admin(console, "GET", f"/admin/projects/{project}/private-endpoints")
    assert described["private_endpoint_access_only"] is True
    assert [(e["name"], e.get("vpc_endpoint_id"), e.get("allowed_cidrs")) for e in endpoints["data"]] == [("vpc-prod", "vpce-0123456789abcdef0", None)]
    assert browser.find_element(By.NAME, "private_endpoint_access_only").is_selected()
    screenshot(browser, "08-private-endpoint.png")


class _EvilSite(http.server.BaseHTTPRequestHandler):
    """Another origin's page: a form that posts to the console, as a cross-site request forgery would."""
    target = ""

    def do_GET(self):
        page = (f'<!doctype html><form method="post" action="{self.target}/console/projects">'
                '<input name="name" value="forged"><button type="submit">Win a prize</button></form>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args):
        pass


def test_a_form_from_another_origin_is_refused(console, browser):
    sign_in(browser, console, "owner@example.com")
    _EvilSite.target = console.url
    evil = http.server.HTTPServer(("127.0.0.1", 0), _EvilSite)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{evil.server_port}/")
        submit(browser, "Win a prize")
        assert re.search(r"40[13]", browser.title), browser.title
    finally:
        evil.shutdown()
    _, projects = admin(console, "GET", "/admin/projects")
    assert "forged" not in [p["name"] for p in projects["data"]]
    browser.get(console.url + "/console")
    assert "Sign out" in browser.page_source, "the session is untouched"


def test_create_an_index_and_query_it_in_the_query_tool(console, browser):
    sign_in(browser, console, "owner@example.com")
    project = create_project(browser, console, "vectors-" + secrets.token_hex(3))
    browser.find_element(By.LINK_TEXT, "Indexes").click()
    fill(browser, "index-name", "movies")
    fill(browser, "index-dimension", "3")
    Select(browser.find_element(By.ID, "index-metric")).select_by_visible_text("euclidean")
    fill(browser, "index-tags", "team=search\nenv=dev")
    submit(browser, "Create index")
    assert browser.current_url.endswith(f"/console/projects/{project}/indexes/movies"), browser.page_source[:1500]

    # Records come in through the SDK with a key of the project; the page counts them and the query tool finds them.
    status, key = admin(console, "POST", f"/admin/projects/{project}/api-keys", {"name": "loader", "roles": ["ProjectEditor"]})
    assert status == 201, key
    pc = Pinecone(api_key=key["value"], host=console.url)
    index = pc.Index(host=pc.describe_index("movies").host)
    index.upsert(vectors=[("a", [0, 0, 1], {"genre": "drama"}), ("b", [0, 1, 0], {"genre": "comedy"}), ("c", [1, 0, 0], {"genre": "drama"})],
                 namespace="films")
    browser.refresh()
    assert browser.find_element(By.ID, "record-count").text == "3"
    fill(browser, "query-vector", "0, 0.1, 0.9")
    fill(browser, "query-top-k", "2")
    fill(browser, "query-namespace", "films")
    fill(browser, "query-filter", '{"genre": {"$eq": "drama"}}')
    submit(browser, "Run query")
    rows = browser.find_elements(By.XPATH, "//table[@id='matches']/tbody/tr")
    assert [row.find_element(By.TAG_NAME, "td").text for row in rows] == ["a", "c"], browser.page_source[-3000:]
    assert "drama" in rows[0].text
    assert browser.find_element(By.ID, "read-units").text.startswith("Read units used: ")
    expected = index.query(vector=[0, 0.1, 0.9], top_k=2, namespace="films", filter={"genre": {"$eq": "drama"}})
    assert [m.id for m in expected.matches] == ["a", "c"], "the same answer as the SDK's"
    screenshot(browser, "09-query-tool.png")
    status, described = raw_request(console, "GET", "/indexes/movies", api_key=key["value"], version="2026-07")
    assert described["tags"] == {"team": "search", "env": "dev"} and described["schema"]["fields"]["_values"]["metric"] == "euclidean", described
    # The metrics tab: the records, the upsert and the queries (the page's and the SDK's) are counted and drawn as
    # images the strict Content-Security-Policy lets load (same origin, no script in them).
    browser.find_element(By.LINK_TEXT, "Metrics").click()
    summary = browser.find_element(By.ID, "metrics-summary").text
    assert summary.startswith("3 records now. Over the last hour: 3 requests"), summary
    charts = browser.find_elements(By.CSS_SELECTOR, "img.chart")
    assert len(charts) == 4
    assert all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", chart) == 720 for chart in charts)
    screenshot(browser, "10-metrics.png")
    browser.find_element(By.LINK_TEXT, "Last day").click()
    assert browser.find_element(By.ID, "metrics-summary").text.startswith("3 records now. Over the last day: 3 requests")


def test_take_a_backup_and_restore_it(console, browser):
    sign_in(browser, console, "owner@example.com")
    project = create_project(browser, console, "backups-" + secrets.token_hex(3))
    status, key = admin(console, "POST", f"/admin/projects/{project}/api-keys", {"name": "loader", "roles": ["ProjectEditor"]})
    pc = Pinecone(api_key=key["value"], host=console.url)
    pc.create_index(name="catalog", dimension=4, metric="cosine", spec={"serverless": {"cloud": "aws", "region": "us-east-1"}})
    index = pc.Index(host=pc.describe_index("catalog").host)
    index.upsert(vectors=[(f"v{i}", [i, 1, 0, 1]) for i in range(50)], namespace="ns")
    browser.get(f"{console.url}/console/projects/{project}/indexes/catalog")
    fill(browser, "backup-name", "before-migration")
    submit(browser, "Back up now")
    assert browser.current_url.endswith(f"/console/projects/{project}/backups")
    row = browser.find_element(By.XPATH, "//section[@aria-labelledby='backups']//tbody/tr")
    assert "before-migration" in row.text and "catalog" in row.text and "50" in row.text
    backup = pc.list_backups(index_name="catalog")[0]
    fill(browser, f"restore-{backup.backup_id}", "catalog-restored")
    submit(browser, "Restore before-migration")
    # The page follows the job by reloading itself (a Refresh header, no script) until it is done.
    WebDriverWait(browser, 120).until(lambda d: "Completed" in d.find_element(By.CLASS_NAME, "job-status").text)
    assert browser.find_element(By.XPATH, "//progress").get_attribute("value") == "100"
    screenshot(browser, "11-backups.png")
    browser.find_element(By.LINK_TEXT, "catalog-restored").click()
    assert browser.find_element(By.ID, "record-count").text == "50"
    assert pc.Index(host=pc.describe_index("catalog-restored").host).describe_index_stats().total_vector_count == 50


def test_enable_the_audit_export_against_moto(browser):
    """On a server of its own whose operator allows moto's endpoint (as in test_audit_export.py): the owner exports the
    audit log to a bucket from the console, sees it delivered, and pauses it."""
    from test_audit_export import AWS_ENV, Moto, operator_allows

    moto = Moto().start()
    try:
        with own_server(*operator_allows(moto), env=AWS_ENV) as server:
            audit_export_in_the_console(browser, server, moto)
    finally:
        moto.stop()


def audit_export_in_the_console(browser, server, moto):
    sign_in(browser, server, "owner@example.com")
    browser.find_element(By.LINK_TEXT, "Audit log").click()
    fill(browser, "audit-bucket", "audit-bucket/console")
    fill(browser, "audit-endpoint", moto.url)
    fill(browser, "audit-interval", "1")
    submit(browser, "Export the audit log")
    assert browser.find_element(By.ID, "export-state").text == "active", browser.page_source[-2000:]
    # The export's own event (and the sign-in before it) reach the bucket; the page shows the delivery.
    WebDriverWait(browser, 60, poll_frequency=1).until(
        lambda d: d.refresh() or any(key.startswith("console/") and key.endswith(".json") for key in moto.objects("console/")))
    browser.refresh()
    assert "create audit-log audit-bucket/console" in browser.find_element(By.ID, "audit-events").text
    assert browser.find_element(By.XPATH, "//table[@id='export-status']//tr[th='IAM role']/td").text == "—"
    screenshot(browser, "12-audit-export.png")
    submit(browser, "Pause export")
    assert browser.find_element(By.ID, "export-state").text == "paused"
    status, settings = admin(server, "GET", "/admin/audit-log")
    assert settings["state"] == "paused" and settings["bucket"] == "audit-bucket/console", settings


def test_add_a_cmek_key_against_moto_and_create_an_encrypted_index(browser, aws):
    """moto's KMS in strict mode (test_cmek.py's customer, role and key): the owner forces CMEK on a project, adds the
    customer's key and role in the console, and creates an index there, whose data key KMS makes through the role."""
    with own_server() as server:
        sign_in(browser, server, "owner@example.com")
        fill(browser, "project-name", "encrypted")
        browser.find_element(By.NAME, "force_encryption_with_cmek").click()
        submit(browser, "Create project")
        project = browser.current_url.rsplit("/", 1)[1]
        fill(browser, "cmek-name", "customer-key")
        fill(browser, "cmek-key", aws["key"]["Arn"])
        fill(browser, "cmek-role", aws["roles"]["cmek"])
        submit(browser, "Add key")
        assert "customer-key" in browser.find_element(By.XPATH, "//section[@aria-labelledby='cmek']").text, browser.page_source[-1500:]
        screenshot(browser, "13-cmek-key.png")
        browser.find_element(By.LINK_TEXT, "Indexes").click()
        fill(browser, "index-name", "secrets")
        fill(browser, "index-dimension", "4")
        submit(browser, "Create index")
        assert browser.current_url.endswith("/indexes/secrets"), browser.page_source[-1500:]
        _, keys = admin(server, "GET", f"/admin/projects/{project}/cmek-keys")
        assert [(k["name"], k["key_arn"], k["role_arn"]) for k in keys["data"]] == [("customer-key", aws["key"]["Arn"], aws["roles"]["cmek"])]
        # The index is sealed under the customer's key: its data key came from KMS through the role.
        status, created = admin(server, "POST", f"/admin/projects/{project}/api-keys", {"name": "reader"})
        status, described = raw_request(server, "GET", "/indexes/secrets", api_key=created["value"], version="2026-07")
        assert status == 200 and described["cmek_id"] == keys["data"][0]["id"], described
