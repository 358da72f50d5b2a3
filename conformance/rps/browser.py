"""A scripted browser for Sesame's pages: it keeps cookies, follows redirects one by one
(recording each hop, so a failure can say which request got which answer), fills the login
and code forms, solves the ALTCHA v1 proof of work and reads the code from the SMTP sink's
folder."""

import base64
import email
import email.policy
import glob
import hashlib
import json
import os
import re
import time
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests


class Failure(Exception):
    """A scenario step that did not go as the specs say; the message is the reason."""


# --- HTML ---------------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """Collects the forms (action, method, successful controls) and a few data- attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.form = None
        self.screen = None
        self.error = None
        self.notice = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and self.screen is None:
            self.screen = a.get("data-page")
        if "data-error" in a and self.error is None:
            self.error = a["data-error"]
        if "data-notice" in a and self.notice is None:
            self.notice = a["data-notice"]
        if tag == "form":
            self.form = {"action": a.get("action", ""), "method": (a.get("method") or "get").lower(), "fields": []}
            self.forms.append(self.form)
        elif tag == "input" and self.form is not None:
            name = a.get("name")
            kind = (a.get("type") or "text").lower()
            if not name or kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.form["fields"].append((name, a.get("value") or ""))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None


class Page:
    """A response the browser stopped at (not a redirect)."""

    def __init__(self, response):
        self.response = response
        self.url = response.url
        self.status = response.status_code
        self.text = response.text
        parser = _PageParser()
        if "html" in response.headers.get("content-type", ""):
            parser.feed(self.text)
        self.forms = parser.forms
        self.screen = parser.screen
        self.error = parser.error
        self.notice = parser.notice

    def form(self, action_suffix):
        for form in self.forms:
            if urlsplit(form["action"]).path.endswith(action_suffix):
                return urljoin(self.url, form["action"]), list(form["fields"])
        raise Failure(f"no form posting to {action_suffix} on {self.describe()}")

    def describe(self):
        bits = [f"{self.status} {self.url}"]
        if self.screen:
            bits.append(f"page={self.screen}")
        if self.error:
            bits.append(f"error={self.error}")
        if self.notice:
            bits.append(f"notice={self.notice}")
        if not self.screen:
            bits.append(f"body={self.text[:300]!r}")
        return " ".join(bits)


# --- the browser --------------------------------------------------------------------------


class Browser:
    all = []  # every browser made, so that the script can log their hops at the end

    def __init__(self, name):
        Browser.all.append(self)
        self.name = name
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = "fr"
        self.session.headers["User-Agent"] = f"sesame-rps-conformance/{name}"
        self.trail = []  # (method, url, status, location)

    def _hop(self, method, url, data=None):
        response = self.session.request(method, url, data=data, allow_redirects=False, timeout=30)
        location = response.headers.get("location")
        self.trail.append((method, url, response.status_code, location))
        return response

    def go(self, url, method="GET", data=None, max_hops=15):
        """Requests a URL and follows redirects (to any of our loopback servers)."""
        response = self._hop(method, url, data)
        for _ in range(max_hops):
            if response.status_code not in (301, 302, 303, 307, 308):
                return Page(response)
            target = urljoin(response.url, response.headers["location"])
            host = urlsplit(target).hostname
            if host not in ("127.0.0.1", "localhost"):
                raise Failure(f"redirect off the loopback to {target}")
            if response.status_code in (307, 308):
                response = self._hop(method, target, data)
            else:
                response = self._hop("GET", target)
        raise Failure(f"too many redirects from {url}")

    def visited(self, predicate):
        """The hops whose URL matches `predicate`."""
        return [hop for hop in self.trail if predicate(hop[1])]

    def dump_trail(self, out):
        for method, url, status, location in self.trail:
            print(f"[{self.name}] {method} {url} -> {status}" + (f" {location}" if location else ""), file=out)

    def recent_trail(self, n=8):
        return " -> ".join(f"{m} {u} [{s}]" for m, u, s, _ in self.trail[-n:])

    def cookie_names(self):
        return sorted({c.name for c in self.session.cookies})

    # --- Sesame's login ---------------------------------------------------------------

    def solve_captcha(self, origin, number):
        """What Sesame's widget does: fetch a challenge for the number, find the secret
        number whose SHA-256 with the salt gives the challenge, send it base64-encoded."""
        r = self.session.get(f"{origin}/captcha/challenge", params={"for": number}, timeout=30)
        self.trail.append(("GET", r.url, r.status_code, None))
        if r.status_code != 200:
            raise Failure(f"GET {r.url} answered {r.status_code}: {r.text[:200]!r}")
        challenge = r.json()
        for key in ("algorithm", "challenge", "salt", "signature", "maxnumber"):
            if key not in challenge:
                raise Failure(f"captcha challenge without {key}: {challenge}")
        if challenge["algorithm"] != "SHA-256":
            raise Failure(f"captcha algorithm {challenge['algorithm']!r} is not SHA-256")
        salt = challenge["salt"].encode()
        for n in range(int(challenge["maxnumber"]) + 1):
            if hashlib.sha256(salt + str(n).encode()).hexdigest() == challenge["challenge"]:
                solution = {
                    "algorithm": challenge["algorithm"],
                    "challenge": challenge["challenge"],
                    "number": n,
                    "salt": challenge["salt"],
                    "signature": challenge["signature"],
                }
                return base64.b64encode(json.dumps(solution).encode()).decode()
        raise Failure(f"captcha challenge has no solution up to {challenge['maxnumber']}")

    def submit(self, page, action_suffix, values, origin=None, number=None):
        target, fields = page.form(action_suffix)
        for name, value in values.items():
            fields = [(n, v) for n, v in fields if n != name]
            fields.append((name, value))
        if origin and any(n == "altcha" and not v for n, v in fields):
            solution = self.solve_captcha(origin, number or "")
            fields = [(n, solution if n == "altcha" else v) for n, v in fields]
        return self.go(target, method="POST", data=fields)

    def log_in(self, page, origin, number, password, mailbox, email_address):
        """From Sesame's login page to the first page off Sesame (the RP's)."""
        if page.screen != "login":
            raise Failure(f"expected Sesame's login page, got {page.describe()}")
        seen = mailbox.seen()
        page = self.submit(page, "/login", {"number": number, "password": password}, origin=origin, number=number)
        if page.screen != "code":
            raise Failure(f"after the password, expected the code page, got {page.describe()}")
        code = mailbox.wait_for_code(email_address, after=seen)
        page = self.submit(page, "/login/code", {"code": code})
        if page.url.startswith(origin + "/"):
            raise Failure(f"after the code, expected to leave Sesame for the RP, got {page.describe()}")
        return page


# --- the SMTP sink's folder ---------------------------------------------------------------


class Mailbox:
    CODE = re.compile(r"(?<![0-9A-Za-z#])([0-9]{6})(?![0-9A-Za-z])")

    def __init__(self, folder):
        self.folder = folder

    def _files(self):
        return sorted(glob.glob(os.path.join(self.folder, "*.json")))

    def seen(self):
        return set(self._files())

    @staticmethod
    def text_of(raw):
        message = email.message_from_string(raw, policy=email.policy.default)
        plain = message.get_body(preferencelist=("plain",))
        if plain is not None:
            return plain.get_content()
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            return re.sub(r"<[^>]+>", " ", html.get_content())
        return message.get_content()

    def wait_for_code(self, address, after, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in self._files():
                if path in after:
                    continue
                with open(path, encoding="utf-8") as f:
                    record = json.load(f)
                if address not in record["rcpt_tos"]:
                    continue
                text = self.text_of(record["data"])
                match = self.CODE.search(text)
                if not match:
                    raise Failure(f"e-mail {os.path.basename(path)} to {address} has no 6-digit code: {text[:300]!r}")
                return match.group(1)
            time.sleep(0.2)
        raise Failure(f"no e-mail with a code reached {address} within {timeout}s")
