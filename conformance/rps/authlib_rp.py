"""A tiny relying party built the way an RP team would build it: Flask with Authlib's Flask
client, confidential (client_secret_basic), authorization code flow with PKCE S256.

Routes:
  /login[?prompt=none]  starts a login at Sesame (state, nonce and PKCE by Authlib)
  /callback             the redirect URI: checks `iss` (RFC 9207), exchanges the code,
                        verifies the id_token (Authlib: signature, iss, aud, exp, nonce),
                        calls userinfo; on an error response, shows the error as JSON
  /me                   the id_token claims and userinfo of the local session, as JSON
  /logout               RP-initiated logout: redirect to Sesame's end_session_endpoint with
                        id_token_hint, post_logout_redirect_uri and state
  /logged-out           the post-logout redirect URI: checks state, ends the local session,
                        and probes userinfo with the old access token
Everything it learns is answered as JSON so that the driving script can check it.
"""

import secrets
import threading

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, jsonify, redirect, request, session, url_for
from werkzeug.serving import make_server

CLIENT_ID = "authlib-rp"


def create_app(issuer, client_secret, base_url):
    app = Flask("authlib_rp")
    app.secret_key = secrets.token_bytes(32)
    # Every server of the test shares 127.0.0.1, and cookies ignore ports: own name.
    app.config["SESSION_COOKIE_NAME"] = "authlib_rp_session"
    oauth = OAuth(app)
    sesame = oauth.register(
        "sesame",
        client_id=CLIENT_ID,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email cohort",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    redirect_uri = f"{base_url}/callback"
    post_logout_uri = f"{base_url}/logged-out"
    local = {}  # local session id -> what the RP keeps server-side

    @app.get("/login")
    def login():
        extra = {}
        if request.args.get("prompt"):
            extra["prompt"] = request.args["prompt"]
        return sesame.authorize_redirect(redirect_uri, **extra)

    @app.get("/callback")
    def callback():
        metadata = sesame.load_server_metadata()
        iss = request.args.get("iss")
        if iss != metadata["issuer"]:
            return jsonify(stage="callback", problem=f"iss {iss!r} != issuer {metadata['issuer']!r}"), 400
        if "error" in request.args:
            state = request.args.get("state", "")
            known = f"_state_sesame_{state}" in session
            return jsonify(
                stage="callback",
                error=request.args["error"],
                error_description=request.args.get("error_description"),
                state_known=known,
            )
        try:
            token = sesame.authorize_access_token()
            userinfo = sesame.userinfo(token=token)
        except AuthlibBaseError as e:
            return jsonify(stage="token", problem=f"{e.error}: {e.description}"), 400
        sid = secrets.token_urlsafe(16)
        local[sid] = {
            "id_token": token["id_token"],
            "access_token": token["access_token"],
            "claims": dict(token["userinfo"]),  # the verified id_token claims
            "userinfo": dict(userinfo),
            "token_type": token.get("token_type"),
            "scope": token.get("scope"),
        }
        session["sid"] = sid
        return redirect(url_for("me"))

    @app.get("/me")
    def me():
        entry = local.get(session.get("sid", ""))
        if entry is None:
            return jsonify(logged_in=False), 401
        return jsonify(
            logged_in=True,
            claims=entry["claims"],
            userinfo=entry["userinfo"],
            token_type=entry["token_type"],
            scope=entry["scope"],
        )

    @app.get("/logout")
    def logout():
        entry = local.get(session.get("sid", ""))
        if entry is None:
            return jsonify(problem="not logged in"), 400
        return sesame.logout_redirect(post_logout_redirect_uri=post_logout_uri, id_token_hint=entry["id_token"])

    @app.get("/logged-out")
    def logged_out():
        try:
            sesame.validate_logout_response()
        except AuthlibBaseError as e:
            return jsonify(stage="logged-out", problem=f"state: {e.description}"), 400
        entry = local.pop(session.pop("sid", ""), None)
        probe = None
        if entry is not None:
            userinfo_endpoint = sesame.load_server_metadata()["userinfo_endpoint"]
            r = requests.get(
                userinfo_endpoint,
                headers={"Authorization": f"Bearer {entry['access_token']}"},
                timeout=10,
            )
            probe = {"status": r.status_code, "www_authenticate": r.headers.get("www-authenticate")}
        return jsonify(logged_out=True, old_access_token_userinfo=probe)

    return app


class Server:
    """The app on a loopback port, in a thread."""

    def __init__(self, app, port):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)
