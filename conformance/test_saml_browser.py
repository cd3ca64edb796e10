"""Single sign-on in a real browser (Chromium through Selenium) against a real identity provider's pages: pysaml2's
IdP behind a small web front on loopback (its own sign-in page, then the auto-post form a real IdP sends back). The
owner configures SSO on the console's page; a user of the domain starts at the console's sign-in, signs in on the
IdP's page, and lands signed in on the console — through the SameSite=Strict session cookie the ACS sets."""
import base64
import html
import http.server
import os
import threading
import urllib.parse
import urllib.request

import pytest

pytest.importorskip("saml2")
from test_console_browser import PASSWORD, browser, fill, own_server, screenshot, submit  # noqa: E402, F401  (the browser fixture)
from test_saml import IdP  # noqa: E402

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

from conftest import admin  # noqa: E402

IDP_PASSWORD = "the identity provider's password"


class IdPSite:
    """The IdP's web pages on 127.0.0.1: GET /sso shows its sign-in form for the AuthnRequest; POST /login checks the
    password and answers with the form that posts the signed response to the ACS (as Okta's does, with a button)."""

    def __init__(self, directory, sp_metadata, acs, sp_entity):
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def page(self, body, status=200):
                data = f"<!doctype html><html><head><title>Test IdP</title></head><body>{body}</body></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                if "SAMLRequest" not in query:  # the browser's favicon
                    return self.page("<p>Not here</p>", 404)
                request, relay = query["SAMLRequest"][0], query.get("RelayState", [""])[0]
                self.page(f"""<h1>Corp identity provider</h1><form method="post" action="/login">
                    <input type="hidden" name="SAMLRequest" value="{html.escape(request)}"><input type="hidden" name="RelayState" value="{html.escape(relay)}">
                    <label for="idp-email">Email</label><input id="idp-email" name="email">
                    <label for="idp-password">Password</label><input id="idp-password" name="password" type="password">
                    <button type="submit">Sign in to Corp</button></form>""")

            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                if form["password"][0] != IDP_PASSWORD:
                    return self.page("<p>Wrong password</p>", 401)
                location = site.sso_url + "?" + urllib.parse.urlencode({"SAMLRequest": form["SAMLRequest"][0], "RelayState": form["RelayState"][0]})
                request_id, relay = site.idp.request_id(location)
                response = site.idp.response(form["email"][0], site.sp_entity, in_response_to=request_id)
                self.page(f"""<form method="post" action="{html.escape(site.idp.acs)}">
                    <input type="hidden" name="SAMLResponse" value="{base64.b64encode(response.encode()).decode()}">
                    <input type="hidden" name="RelayState" value="{html.escape(relay)}">
                    <button type="submit">Continue to Conifer</button></form>""")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.sso_url = f"http://127.0.0.1:{self.httpd.server_port}/sso"
        self.idp = IdP(directory, "idp", sp_metadata, acs, sso_url=self.sso_url)
        self.sp_entity = sp_entity
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_sign_in_through_the_identity_providers_page(browser, tmp_path):
    with own_server() as server:
        status, organizations = admin(server, "GET", "/admin/organizations")
        organization = organizations["data"][0]["id"]
        status, shown = admin(server, "GET", f"/admin/organizations/{organization}/sso")
        metadata = urllib.request.urlopen(server.url + f"/saml/{organization}/metadata", timeout=30).read().decode()
        site = IdPSite(str(tmp_path), metadata, shown["acs_url"], shown["sp_entity_id"])
        try:
            # The owner configures SSO on the console's page, pasting the IdP's certificate.
            driver = browser
            driver.get(server.url + "/console/sign-in")
            fill(driver, "email", "owner@example.com")
            fill(driver, "password", PASSWORD)
            submit(driver, "Sign in")
            driver.get(server.url + "/console/single-sign-on")
            assert shown["acs_url"] in driver.page_source
            fill(driver, "sso-idp", "https://idp.corp.example/metadata")
            fill(driver, "sso-url", site.sso_url)
            with open(site.idp.cert) as file:
                fill(driver, "sso-certificate", file.read())
            fill(driver, "sso-domains", "corp.example")
            Select(driver.find_element(By.ID, "sso-role")).select_by_visible_text("OrgMember")
            driver.find_element(By.NAME, "enforced").click()
            submit(driver, "Save single sign-on")
            assert "yes: passwords are refused" in driver.find_element(By.ID, "sso-enforced").text
            screenshot(driver, "15-single-sign-on-settings.png")
            submit(driver, "Sign out")

            # A user of the domain: the console's sign-in, the IdP's page, back to the console signed in.
            driver.get(server.url + "/console/sign-in")
            fill(driver, "sso-email", "dana@corp.example")
            submit(driver, "Continue with single sign-on")
            assert driver.current_url.startswith(site.sso_url), driver.current_url
            fill(driver, "idp-email", "dana@corp.example")
            fill(driver, "idp-password", IDP_PASSWORD)
            submit(driver, "Sign in to Corp")
            submit(driver, "Continue to Conifer")
            WebDriverWait(driver, 30).until(lambda d: d.current_url == server.url + "/console")
            assert "dana@corp.example" in driver.page_source and "Sign out" in driver.page_source, driver.page_source[:2000]
            screenshot(driver, "16-signed-in-through-sso.png")
            status, users = admin(server, "GET", "/admin/users?email=dana@corp.example")
            assert len(users["data"]) == 1, users
        finally:
            site.close()
