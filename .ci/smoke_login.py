"""Wait for /healthz to answer 200, then log in through the login page and open the project list."""

from __future__ import annotations

import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base, username, password = sys.argv[1:4]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

deadline = time.monotonic() + 240
health = None
while time.monotonic() < deadline:
    try:
        with opener.open(f"{base}/healthz", timeout=5) as response:
            health = json.load(response)
            break
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        health = getattr(exc, "code", None) or str(exc)
        time.sleep(1)
else:
    sys.exit(f"smoke: /healthz never answered 200 (last: {health})")
print(f"smoke: /healthz -> {health}")

with opener.open(f"{base}/login/", timeout=10) as response:
    page = response.read().decode()
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
if token is None:
    sys.exit("smoke: no CSRF token on the login page")
form = urllib.parse.urlencode(
    {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1), "next": "/"}
).encode()
request = urllib.request.Request(f"{base}/login/", data=form, headers={"Referer": f"{base}/login/"})
with opener.open(request, timeout=10) as response:
    home = response.read().decode()
if "DEMO" not in home or "Log out" not in home:
    sys.exit("smoke: logging in as the demo editor did not show the DEMO project")
print(f"smoke: logged in as {username} and saw the DEMO project")
