"""The two relying-party scenarios against a running Sesame.

Usage: scenarios.py authlib|apache

run.sh starts Sesame, the SMTP sink and Apache, and passes what they are through the
environment (see `Env`). Each scenario prints one line, `PASS <name> (<seconds>s)` or
`FAIL <name> (<seconds>s): <reason>`, and exits 0 or 1. With RPS_VERBOSE=1 a failure also
prints the browser's last hops.
"""

import base64
import json
import os
import sys
import time
import traceback
from urllib.parse import parse_qs, urlsplit

from browser import Browser, Failure, Mailbox


class Env:
    def __init__(self):
        e = os.environ
        self.issuer = e["RPS_ISSUER"].rstrip("/")
        self.mailbox = Mailbox(e["RPS_MAIL_DIR"])
        self.password = e["RPS_PASSWORD"]
        self.authlib_port = int(e.get("RPS_AUTHLIB_PORT", "0"))
        self.authlib_secret = e.get("RPS_AUTHLIB_SECRET", "")
        self.authlib_number = e.get("RPS_AUTHLIB_NUMBER", "")
        self.authlib_email = e.get("RPS_AUTHLIB_EMAIL", "")
        self.apache_url = e.get("RPS_APACHE_URL", "").rstrip("/")
        self.apache_number = e.get("RPS_APACHE_NUMBER", "")
        self.apache_email = e.get("RPS_APACHE_EMAIL", "")


def check(condition, reason):
    if not condition:
        raise Failure(reason)


def jwt_payload(token):
    """The payload of a JWT, unverified (for looking only; the RP verified it)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def json_of(page, what):
    try:
        return page.response.json()
    except ValueError:
        raise Failure(f"{what}: expected JSON, got {page.describe()}") from None


# --- scenario 1: Authlib ------------------------------------------------------------------


def scenario_authlib(env):
    from authlib_rp import Server, create_app

    rp = f"http://127.0.0.1:{env.authlib_port}"
    app = create_app(env.issuer, env.authlib_secret, rp)
    browser = Browser("authlib")
    with Server(app, env.authlib_port):
        # 1. Login: RP -> /authorize -> login page -> code page -> RP callback -> /me.
        page = browser.go(f"{rp}/login")
        authorize = browser.visited(lambda u: u.startswith(f"{env.issuer}/authorize"))
        check(authorize, f"the RP did not send the browser to {env.issuer}/authorize: {browser.recent_trail()}")
        params = query(authorize[0][1])
        check(params.get("code_challenge_method") == "S256" and params.get("code_challenge"),
              f"Authlib sent no PKCE S256 challenge: {authorize[0][1]}")
        check(params.get("nonce") and params.get("state"), f"no nonce/state in {authorize[0][1]}")
        page = browser.log_in(page, env.issuer, env.authlib_number, env.password, env.mailbox, env.authlib_email)
        callback = browser.visited(lambda u: u.startswith(f"{rp}/callback"))
        check(callback, f"Sesame did not redirect to the RP's callback: {browser.recent_trail()}")
        cb = query(callback[-1][1])
        check("code" in cb and cb.get("state") == params["state"] and cb.get("iss") == env.issuer,
              f"authorization response lacks code, the same state or iss={env.issuer}: {callback[-1][1]}")
        me = json_of(page, "after the callback")
        check(page.status == 200 and me.get("logged_in"), f"the RP did not log in: {page.describe()}")
        claims, userinfo = me["claims"], me["userinfo"]

        # 2. What the RP learnt.
        check(claims.get("iss") == env.issuer, f"id_token iss {claims.get('iss')!r}")
        check(claims.get("aud") in ("authlib-rp", ["authlib-rp"]), f"id_token aud {claims.get('aud')!r}")
        check(claims.get("sub") and claims["sub"] != env.authlib_number, f"id_token sub {claims.get('sub')!r}")
        check(claims.get("acr") == "mfa", f"id_token acr {claims.get('acr')!r}, expected mfa")
        check(sorted(claims.get("amr") or []) == ["mfa", "otp", "pwd"], f"id_token amr {claims.get('amr')!r}")
        check(claims.get("sid"), "id_token has no sid (needed for logout)")
        check(isinstance(claims.get("auth_time"), int), f"id_token auth_time {claims.get('auth_time')!r}")
        check(claims.get("at_hash"), "id_token has no at_hash")
        check("cohort_number" not in claims, "id_token carries cohort_number without asking (claims go to userinfo)")
        check(userinfo.get("sub") == claims["sub"], f"userinfo sub {userinfo.get('sub')!r} != id_token sub")
        check(userinfo.get("cohort_number") == env.authlib_number,
              f"userinfo cohort_number {userinfo.get('cohort_number')!r}, expected {env.authlib_number!r}")
        check(userinfo.get("email") == env.authlib_email, f"userinfo email {userinfo.get('email')!r}")
        check(userinfo.get("given_name") == "Jeanne", f"userinfo given_name {userinfo.get('given_name')!r}")
        check((me.get("token_type") or "").lower() == "bearer", f"token_type {me.get('token_type')!r}")

        # 3. The Sesame session exists: prompt=none logs in again without a page.
        page = browser.go(f"{rp}/login?prompt=none")
        me2 = json_of(page, "silent login before logout")
        check(me2.get("logged_in") and me2["claims"]["sub"] == claims["sub"],
              f"prompt=none with a live session did not log in silently: {page.describe()}")
        check(me2["claims"]["sid"] == claims["sid"], "prompt=none gave another sid")
        id_token_sid = me2["claims"]["sid"]

        # 4. RP-initiated logout through /end_session.
        page = browser.go(f"{rp}/logout")
        ends = browser.visited(lambda u: u.startswith(f"{env.issuer}/end_session"))
        check(ends, f"the RP did not go through {env.issuer}/end_session: {browser.recent_trail()}")
        end = ends[-1]
        lp = query(end[1])
        check(lp.get("id_token_hint") and lp.get("post_logout_redirect_uri") == f"{rp}/logged-out" and lp.get("state"),
              f"end_session request lacks id_token_hint/post_logout_redirect_uri/state: {end[1]}")
        check(jwt_payload(lp["id_token_hint"]).get("sid") == id_token_sid, "id_token_hint is not the last id_token")
        check(end[2] in (302, 303) and (end[3] or "").startswith(f"{rp}/logged-out"),
              f"GET /end_session answered {end[2]} location {end[3]!r}, expected a redirect to {rp}/logged-out")
        check(query(end[3]).get("state") == lp["state"], f"end_session did not echo state: {end[3]}")
        out = json_of(page, "post-logout redirect")
        check(page.status == 200 and out.get("logged_out"), f"the RP's logged-out page: {page.describe()}")
        probe = out.get("old_access_token_userinfo") or {}
        check(probe.get("status") == 401,
              f"userinfo with the access token of the ended session answered {probe.get('status')} "
              f"(expected 401: logout revokes every grant of the session)")

        # 5. The Sesame session is gone: prompt=none must answer login_required.
        page = browser.go(f"{rp}/login?prompt=none")
        answer = json_of(page, "prompt=none after logout")
        check(answer.get("error") == "login_required",
              f"prompt=none after logout answered {answer} (trail: {browser.recent_trail(3)})")
        check(answer.get("state_known"), "the login_required response did not echo the RP's state")
    return f"sub={claims['sub']} cohort_number={userinfo['cohort_number']} acr={claims['acr']}; logout then prompt=none -> login_required"


# --- scenario 2: Apache mod_auth_openidc --------------------------------------------------


def claims_page(page):
    """The CGI's `KEY=VALUE` lines."""
    out = {}
    for line in page.text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def scenario_apache(env):
    base = env.apache_url
    protected = f"{base}/protected/claims.cgi"
    browser = Browser("apache")

    # 1. Login: Apache -> /authorize -> login -> code -> redirect_uri -> the CGI.
    page = browser.go(protected)
    authorize = browser.visited(lambda u: u.startswith(f"{env.issuer}/authorize"))
    check(authorize, f"mod_auth_openidc did not send the browser to {env.issuer}/authorize: {page.describe()}")
    params = query(authorize[0][1])
    check(params.get("client_id") == "apache-rp", f"client_id {params.get('client_id')!r}")
    check(params.get("code_challenge_method") == "S256", f"no PKCE S256 in {authorize[0][1]}")
    page = browser.log_in(page, env.issuer, env.apache_number, env.password, env.mailbox, env.apache_email)
    callback = browser.visited(lambda u: u.startswith(f"{base}/protected/redirect_uri?"))
    check(callback, f"Sesame did not redirect to mod_auth_openidc's redirect URI: {browser.recent_trail()}")
    check(query(callback[-1][1]).get("iss") == env.issuer, f"no iss={env.issuer} in {callback[-1][1]}")
    check(page.status == 200 and page.url == protected,
          f"after the callback, expected the protected page, got {page.describe()}")
    claims = claims_page(page)
    sub = claims.get("OIDC_CLAIM_sub")
    check(sub and sub != env.apache_number, f"OIDC_CLAIM_sub {sub!r}")
    check(claims.get("REMOTE_USER") == sub, f"REMOTE_USER {claims.get('REMOTE_USER')!r} != sub")
    check(claims.get("OIDC_CLAIM_cohort_number") == env.apache_number,
          f"OIDC_CLAIM_cohort_number {claims.get('OIDC_CLAIM_cohort_number')!r}, expected {env.apache_number!r}")
    check(claims.get("OIDC_CLAIM_acr") == "mfa", f"OIDC_CLAIM_acr {claims.get('OIDC_CLAIM_acr')!r}")

    # 2. The local session works without going back to Sesame.
    before = len(browser.trail)
    page = browser.go(protected)
    check(page.status == 200 and len(browser.trail) == before + 1 and claims_page(page).get("OIDC_CLAIM_sub") == sub,
          f"second visit to the protected page did not use the Apache session: {browser.recent_trail(4)}")

    # 3. Logout through mod_auth_openidc's logout URL, which goes through /end_session.
    page = browser.go(f"{base}/protected/redirect_uri?logout={base}/loggedout.html")
    ends = browser.visited(lambda u: u.startswith(f"{env.issuer}/end_session"))
    check(ends, f"mod_auth_openidc did not go through {env.issuer}/end_session: {browser.recent_trail()}")
    end = ends[-1]
    lp = query(end[1])
    check(lp.get("id_token_hint"), f"end_session request without id_token_hint: {end[1]}")
    check(lp.get("post_logout_redirect_uri") == f"{base}/loggedout.html",
          f"end_session request post_logout_redirect_uri {lp.get('post_logout_redirect_uri')!r}")
    check(end[2] in (302, 303) and (end[3] or "").startswith(f"{base}/loggedout.html"),
          f"GET /end_session answered {end[2]} location {end[3]!r}, expected a redirect to {base}/loggedout.html")
    if "state" in lp:
        check(query(end[3]).get("state") == lp["state"], f"end_session did not echo state: {end[3]}")
    check(page.status == 200 and page.url.startswith(f"{base}/loggedout.html") and "logged out" in page.text,
          f"after logout expected the logged-out page, got {page.describe()}")

    # 4. Both sessions are gone: the protected page sends the browser to Sesame's login page.
    page = browser.go(protected)
    check(page.url.startswith(env.issuer) and page.screen == "login",
          f"after logout the protected page did not lead to Sesame's login page: {page.describe()}")
    return f"sub={sub} cohort_number={claims['OIDC_CLAIM_cohort_number']} acr={claims['OIDC_CLAIM_acr']}; logout via /end_session, then login page again"


SCENARIOS = {"authlib": ("authlib-rp", scenario_authlib), "apache": ("apache-rp (mod_auth_openidc)", scenario_apache)}


def main():
    name, run = SCENARIOS[sys.argv[1]]
    start = time.monotonic()
    try:
        detail = run(Env())
        for browser in Browser.all:
            browser.dump_trail(sys.stderr)
    except Failure as e:
        for browser in Browser.all:
            browser.dump_trail(sys.stderr)
        print(f"FAIL {name} ({time.monotonic() - start:.1f}s): {e}", flush=True)
        return 1
    except Exception as e:  # a crash of the script or of a library is a failure too
        print(f"FAIL {name} ({time.monotonic() - start:.1f}s): {type(e).__name__}: {e}", flush=True)
        if os.environ.get("RPS_VERBOSE"):
            traceback.print_exc()
        return 1
    print(f"PASS {name} ({time.monotonic() - start:.1f}s): {detail}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
