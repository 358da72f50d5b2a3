#!/usr/bin/env python3
"""Smoke check of the peer (stdlib only). Run through smoke.sh, which starts the peer.

Usage: smoke.py ISSUER RP_PORT
Drives code flow + PKCE with a cookie jar through the login and consent forms,
token exchange (client_secret_basic), userinfo, refresh, form_post, RP-initiated
logout (with back-channel logout received on RP_PORT), then prompt=none.
Prints one line per check and exits non-zero on the first failure.
"""
import base64
import hashlib
import html.parser
import http.cookiejar
import http.server
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ISSUER, RP_PORT = sys.argv[1], int(sys.argv[2])
CLIENT_ID, CLIENT_SECRET = "client", "secret-1234567890"
RP = f"http://127.0.0.1:{RP_PORT}"
REDIRECT_URI = f"{RP}/callback"
POST_LOGOUT = f"{RP}/post_logout_redirect"

passed = 0


def check(cond, what):
    global passed
    if not cond:
        print(f"FAIL {what}")
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok   {what}")


# ------------------------------------------------------------------ RP listener

backchannel = []


class RPHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        if self.path == "/backchannel_logout":
            backchannel.append((self.headers.get("content-type"), urllib.parse.parse_qs(body)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


rp_server = http.server.ThreadingHTTPServer(("127.0.0.1", RP_PORT), RPHandler)
threading.Thread(target=rp_server.serve_forever, daemon=True).start()

# ------------------------------------------------------------------ HTTP helpers


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def new_browser():
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    # like a browser: without it oidc-provider answers end_session errors in JSON
    opener.addheaders = [("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")]
    return opener


def request(opener, url, data=None, headers=None, method=None):
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        resp = opener.open(req, timeout=10)
    except urllib.error.HTTPError as err:
        resp = err
    return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read().decode()


def follow(opener, url, data=None, stop_prefix=RP, limit=10):
    """Follows redirects (303/302 become GET) until a page or a URL under stop_prefix."""
    for _ in range(limit):
        if url.startswith(stop_prefix):
            return url, None, None
        status, headers, body = request(opener, url, data)
        data = None
        if status in (301, 302, 303, 307) and "location" in headers:
            url = urllib.parse.urljoin(url, headers["location"])
            continue
        return url, status, body
    raise RuntimeError("too many redirects")


class Forms(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.page, self.forms, self.buttons = None, [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.page = a.get("data-page")
        elif tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "inputs": {}})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"][a.get("name")] = a.get("value") or ""
        elif tag == "button":
            self.buttons.append(a)
            if self.forms and a.get("name"):
                self.forms[-1]["inputs"][a["name"]] = a.get("value") or ""


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p)), (h + "." + p).encode(), b64d(s)


def verify_rs256(token, jwks):
    header, payload, signing_input, sig = jwt_parts(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    n = int.from_bytes(b64d(key["n"]), "big")
    e = int.from_bytes(b64d(key["e"]), "big")
    k = (n.bit_length() + 7) // 8
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    return header["alg"] == "RS256" and em == expected, header, payload


def qs(url):
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
api = urllib.request.build_opener(NoRedirect())

# ------------------------------------------------------------------ discovery

status, _, body = request(api, f"{ISSUER}/.well-known/openid-configuration")
disc = json.loads(body)
check(status == 200 and disc["issuer"] == ISSUER, "discovery answers with the issuer")
status, _, body = request(api, disc["jwks_uri"])
jwks = json.loads(body)
kids = [k.get("kid") for k in jwks["keys"]]
check(all(kids) and len(set(kids)) == len(kids) and {k["alg"] for k in jwks["keys"]} == {"RS256", "ES256"},
      f"JWKS has RS256+ES256 keys with distinct kids {kids}")

# ------------------------------------------------------------------ code flow + PKCE

browser = new_browser()
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
auth = {
    "client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
    "scope": "openid profile email phone address offline_access", "prompt": "consent",
    "state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256",
}
url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(auth))
page = Forms(body)
check(status == 200 and page.page == "login" and "/interaction/" in url, "authorization request leads to the login page")
form = page.forms[0]
check(set(form["inputs"]) >= {"login", "password"}, "login form has inputs login and password")
login_url = urllib.parse.urljoin(url, form["action"])

url, status, body = follow(browser, login_url, {"login": "alice", "password": "wrong"})
check(status == 200 and Forms(body).page == "login" and 'id="login-error"' in body, "wrong password re-shows the login page")

url, status, body = follow(browser, login_url, {"login": "alice", "password": "secret"})
page = Forms(body)
check(status == 200 and page.page == "consent", "login leads to the consent page")
check(len(page.buttons) == 1 and len(page.forms) == 1, "consent page has one form with one button")
url, status, body = follow(browser, urllib.parse.urljoin(url, page.forms[0]["action"]), page.forms[0]["inputs"])
check(url.startswith(REDIRECT_URI), f"consent redirects to the callback: {url[:90]}...")
cb = qs(url)
check(cb.get("state") == state and cb.get("iss") == ISSUER and "code" in cb, "callback carries code, state and iss")

status, headers, body = request(api, disc["token_endpoint"], {
    "grant_type": "authorization_code", "code": cb["code"], "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
}, {"Authorization": basic})
tokens = json.loads(body)
check(status == 200 and tokens.get("token_type") == "Bearer" and "no-store" in headers.get("cache-control", ""),
      f"token endpoint 200, Bearer, no-store (expires_in={tokens.get('expires_in')})")
check("refresh_token" in tokens, "refresh token issued for offline_access + prompt=consent")
ok, header, idt = verify_rs256(tokens["id_token"], jwks)
check(ok, f"id_token RS256 signature valid (kid {header['kid']})")
now = time.time()
check(idt["iss"] == ISSUER and idt["aud"] == CLIENT_ID and idt["nonce"] == nonce and idt["sub"] == "alice"
      and abs(idt["iat"] - now) < 300 and idt["exp"] - idt["iat"] == 300 and "acr" not in idt
      and "auth_time" not in idt and "sid" in idt,
      f"id_token claims (no acr/auth_time unless requested): {sorted(idt)}")
check("name" not in idt and "email" not in idt, "scope claims are not in the id_token (userinfo only)")

status, headers, body = request(api, disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + tokens["access_token"]})
info = json.loads(body)
check(status == 200 and headers.get("content-type", "").startswith("application/json") and info["sub"] == "alice"
      and info["email_verified"] is True and isinstance(info["address"], dict) and "phone_number" in info and "name" in info,
      f"userinfo GET: {sorted(info)}")
status, _, body = request(api, disc["userinfo_endpoint"], {"access_token": tokens["access_token"]})
check(status == 200 and json.loads(body)["sub"] == "alice", "userinfo POST with access_token in the body")

status, _, body = request(api, disc["token_endpoint"], {
    "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, {"Authorization": basic})
refreshed = json.loads(body)
check(status == 200 and refreshed.get("refresh_token") not in (None, tokens["refresh_token"]) and "id_token" in refreshed,
      "refresh grant works and rotates the refresh token")

# ------------------------------------------------------------------ same session: prompt=none, form_post, POST

again = dict(auth, prompt="none", state="s2", nonce="n2")
del again["code_challenge"], again["code_challenge_method"]
again["scope"] = "openid"
url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(again))
check(url.startswith(REDIRECT_URI) and "code" in qs(url) and qs(url)["state"] == "s2", "prompt=none while logged in gives a code")
url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(dict(again, acr_values="mfa pwd", max_age="3600")))
status, _, body = request(api, disc["token_endpoint"], {
    "grant_type": "authorization_code", "code": qs(url)["code"], "redirect_uri": REDIRECT_URI}, {"Authorization": basic})
_, idt2 = jwt_parts(json.loads(body)["id_token"])[:2]
check(idt2.get("acr") == "pwd" and idt2["sub"] == "alice" and now - 60 < idt2["auth_time"] <= time.time(),
      "with acr_values + max_age the id_token carries acr (the session's: pwd) and auth_time")

url, status, body = follow(browser, disc["authorization_endpoint"], dict(again, state="s-post"))
check(url.startswith(REDIRECT_URI) and qs(url).get("state") == "s-post", "authorization request sent as form POST works")

fp = dict(again, response_mode="form_post", state="s-fp")
url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(fp))
page = Forms(body)
check(status == 200 and page.page == "form-post" and page.forms[0]["method"] == "post"
      and page.forms[0]["action"] == REDIRECT_URI and {"code", "state", "iss"} <= set(page.forms[0]["inputs"])
      and page.forms[0]["inputs"]["state"] == "s-fp" and "document.forms[0].submit()" in body,
      f"response_mode=form_post gives an auto-submitting form to the callback with {sorted(page.forms[0]['inputs'])}")

# ------------------------------------------------------------------ negative checks

url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(dict(again, redirect_uri=f"{RP}/evil")))
check(status == 400 and Forms(body).page == "error" and "redirect_uri" in body, "unregistered redirect_uri shows the error page")
for param, err in (("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")):
    url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(dict(again, **{param: "x"}, state="s-r")))
    check(url.startswith(REDIRECT_URI) and qs(url).get("error") == err and qs(url).get("state") == "s-r", f"{param}= is rejected with {err}")
url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(
    {k: v for k, v in again.items() if k != "response_type"}))
check((status is None and qs(url).get("error") in ("invalid_request", "unsupported_response_type") and "code" not in qs(url))
      or (status == 400 and Forms(body).page == "error"),
      f"missing response_type is refused: {urllib.parse.urlsplit(url).query if status is None else 'error page'}")

# ------------------------------------------------------------------ RP-initiated logout

bad = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": f"{RP}/evil", "state": "x"}
url, status, body = follow(browser, disc["end_session_endpoint"] + "?" + urllib.parse.urlencode(bad))
check(status == 400 and Forms(body).page == "error", "unregistered post_logout_redirect_uri shows the error page")

logout = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT, "state": "logout-state"}
url, status, body = follow(browser, disc["end_session_endpoint"] + "?" + urllib.parse.urlencode(logout))
page = Forms(body)
check(status == 200 and page.page == "logout-confirm" and len(page.forms) == 1 and page.forms[0]["inputs"].get("logout") == "yes",
      "end_session shows the logout-confirm page with a confirming button (logout=yes)")
url, status, body = follow(browser, urllib.parse.urljoin(url, page.forms[0]["action"]), page.forms[0]["inputs"])
check(url.startswith(POST_LOGOUT) and qs(url) == {"state": "logout-state"}, f"confirm redirects to post_logout_redirect_uri with only state: {url}")
time.sleep(0.5)
check(len(backchannel) == 1 and backchannel[0][0] == "application/x-www-form-urlencoded"
      and list(backchannel[0][1]) == ["logout_token"], "back-channel logout POST received (form-encoded logout_token only)")
ok, header, lt = verify_rs256(backchannel[0][1]["logout_token"][0], jwks)
check(ok and lt["iss"] == ISSUER and lt["aud"] == CLIENT_ID and lt["sub"] == "alice" and lt["sid"] == idt["sid"]
      and lt["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}} and "jti" in lt and "nonce" not in lt,
      f"logout_token valid: {sorted(lt)}")

url, status, body = follow(browser, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(dict(again, state="s-none")))
cb = qs(url)
check(url.startswith(REDIRECT_URI) and cb.get("error") == "login_required" and cb.get("state") == "s-none" and "code" not in cb,
      f"prompt=none after logout: {urllib.parse.urlsplit(url).query}")

status, _, body = request(api, disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + refreshed["access_token"]})
check(status == 200, "offline_access grant outlives the logout (its access token still works at userinfo)")

# logout with no parameters and no session: auto-submitting form, then the logged-out page
url, status, body = follow(browser, disc["end_session_endpoint"])
page = Forms(body)
check(status == 200 and page.page == "form-post" and page.forms[0]["inputs"].get("logout") == "yes",
      "end_session without a session answers with an auto-submitting form (data-page=form-post)")
url, status, body = follow(browser, urllib.parse.urljoin(url, page.forms[0]["action"]), page.forms[0]["inputs"])
check(status == 200 and Forms(body).page == "logged-out", "...which leads to the logged-out page")

# code reuse, in a fresh browser with another account: the code is refused and the
# grant (with its access token) is revoked
other = new_browser()
url, status, body = follow(other, disc["authorization_endpoint"] + "?" + urllib.parse.urlencode(
    {k: v for k, v in again.items() if k != "prompt"} | {"state": "s-reuse"}))
page = Forms(body)
url, status, body = follow(other, urllib.parse.urljoin(url, page.forms[0]["action"]), {"login": "bob", "password": "secret"})
page = Forms(body)
url, status, body = follow(other, urllib.parse.urljoin(url, page.forms[0]["action"]), page.forms[0]["inputs"])
exchange = {"grant_type": "authorization_code", "code": qs(url)["code"], "redirect_uri": REDIRECT_URI}
status, _, body = request(api, disc["token_endpoint"], exchange, {"Authorization": basic})
bob = json.loads(body)
check(status == 200 and jwt_parts(bob["id_token"])[1]["sub"] == "bob", "second account logs in (sub=bob)")
status, _, body = request(api, disc["token_endpoint"], exchange, {"Authorization": basic})
check(status == 400 and json.loads(body)["error"] == "invalid_grant", "code reuse is 400 invalid_grant")
status, _, body = request(api, disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + bob["access_token"]})
check(status == 401, "code reuse revoked the access token issued with the code")

print(f"{passed} passed, 0 failed")
