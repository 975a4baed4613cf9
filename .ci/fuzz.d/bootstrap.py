"""Signs up on a fresh Herald through its dashboard (as a person would) and prints an API token
with every scope (ingest, read, write) and its id, for the schema fuzzer. Standard library only.

Usage: bootstrap.py BASE_URL
"""

import html
import json
import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main(base: str) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def get(path: str) -> str:
        with opener.open(base + path) as res:
            return res.read().decode()

    def post(path: str, fields: list[tuple[str, str]]) -> str:
        csrf = re.search(r'name="csrf" value="([^"]+)"', get("/login")).group(1)
        body = urllib.parse.urlencode([("csrf", html.unescape(csrf))] + fields).encode()
        try:
            opener.open(base + path, body)
        except urllib.error.HTTPError as e:
            if e.code != 303:
                raise SystemExit(f"POST {path}: {e.code} {e.read().decode()[:500]}")
            return e.headers["Location"]
        raise SystemExit(f"POST {path} did not redirect")

    post("/signup", [("email", "fuzz@example.com"), ("password", "correct horse battery staple"),
                     ("account_name", "Fuzz")])
    shown = get(post("/settings/tokens", [("name", "fuzz"), ("scopes", "ingest"), ("scopes", "read"),
                                          ("scopes", "write")]))
    token = re.search(r'id="new-token" class="secret">([^<]+)<', shown)
    if not token:
        raise SystemExit("the token page showed no new token")
    secret = html.unescape(token.group(1))
    req = urllib.request.Request(base + "/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(req) as res:
        [own] = json.load(res)["data"]
    seed(base, secret)
    print(secret, own["id"])


def seed(base: str, secret: str) -> None:
    """A webhook and a few events, so list and delivery operations have data to return. The
    target's `.invalid` name never resolves: deliveries fail fast and are retried."""
    def call(path: str, body: dict) -> None:
        req = urllib.request.Request(base + "/api/v1" + path, data=json.dumps(body).encode(), headers={
            "Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
        urllib.request.urlopen(req).close()

    call("/webhooks", {"name": "seed", "url": "https://hooks.example.invalid/in",
                       "patterns": [{"pattern": "*", "enabled": True}]})
    call("/events", {"batch": [{"type": "track", "userId": f"u{i}", "event": "Seeded"} for i in range(5)]})


if __name__ == "__main__":
    main(sys.argv[1])
