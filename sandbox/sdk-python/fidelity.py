#!/usr/bin/env python3
"""Drives the Genesys Cloud sandbox with the official Genesys Cloud Python SDK
(PureCloudPlatformClientV2 from PyPI), and checks that every answer reads into the SDK's own
models without loss: every field the sandbox sends is one the model knows, with a type the model
accepts and an enum value it knows (the SDK marks an unknown one "outdated_sdk_version").

    fidelity.py                 starts ../../target/debug/sandbox on a free port
    fidelity.py --bin PATH      starts that sandbox binary
    fidelity.py --url URL       uses a sandbox already running at URL

Exits non-zero when any check fails; the last line reads "N passed, N failed".
"""

import base64
import datetime
import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import PureCloudPlatformClientV2 as pc
from PureCloudPlatformClientV2.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = ("portal-service", "sandbox-service-secret")


def start_sandbox(binary):
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} does not exist: run `cargo build -p sandbox` or pass --url")
    child = subprocess.Popen(
        [binary, "--port", "0", "--users", "1250", "--seed", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 20
    out = ""
    while time.time() < deadline:
        line = child.stdout.readline()
        out += line
        found = re.search(r"listening on (http://\S+)", out)
        if found:
            return found.group(1), child
        if child.poll() is not None:
            raise SystemExit(f"the sandbox exited early with {child.returncode}")
    child.kill()
    raise SystemExit("the sandbox did not print its URL within 20 s")


def sdk_client(base):
    """An SDK client pointed at the sandbox: login and API on the same host (the SDK derives
    the login host by replacing `//api.`, which a loopback URL does not have)."""
    return pc.api_client.ApiClient(host=base.rstrip("/"))


def raw(base, token, path, body=None):
    """The sandbox's answer as JSON, fetched beside the SDK (the SDK keeps only its model)."""
    request = urllib.request.Request(base.rstrip("/") + path, method="POST" if body else "GET")
    request.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data=data, timeout=20) as r:
            return r.status, json.loads(r.read() or b"null"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), dict(e.headers)


def same_instant(a, b):
    try:
        pa = datetime.datetime.fromisoformat(str(a).replace("Z", "+00:00"))
        pb = datetime.datetime.fromisoformat(str(b).replace("Z", "+00:00"))
        return pa == pb
    except ValueError:
        return False


def losses(sent, kept, path="$"):
    """Where the model's serialisation differs from what the sandbox sent."""
    found = []
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [f"{path}: an object the model read as {type(kept).__name__}"]
        for key, value in sent.items():
            if key not in kept:
                found.append(f"{path}.{key}: a field the SDK's model does not have")
            else:
                found += losses(value, kept[key], f"{path}.{key}")
    elif isinstance(sent, list):
        if not isinstance(kept, list) or len(kept) != len(sent):
            return [f"{path}: a list the model read as {kept!r:.60}"]
        for i, (s, k) in enumerate(zip(sent, kept)):
            found += losses(s, k, f"{path}[{i}]")
    elif kept == "outdated_sdk_version":
        found.append(f"{path}: {sent!r} is not a value the SDK's enum knows")
    elif sent != kept and not same_instant(sent, kept):
        found.append(f"{path}: sent {sent!r:.60}, the model kept {kept!r:.60}")
    return found


def lossless(client, answer, model):
    """Reads `answer` (JSON) into SDK model `model` and back; raises on any loss."""
    read = client._ApiClient__deserialize(answer, model)
    back = client.sanitize_for_serialization(read)
    problems = losses(answer, back)
    if problems:
        raise AssertionError(f"{model} loses: " + "; ".join(problems[:6]))
    return read


def expect_api_error(call, status):
    try:
        call()
    except ApiException as e:
        if e.status != status:
            raise AssertionError(f"expected HTTP {status}, got {e.status}: {e.body}")
        body = json.loads(e.body)
        assert body.get("code") and body.get("message") and body.get("contextId"), body
        return body
    raise AssertionError(f"expected HTTP {status}, but the call succeeded")


def main():
    args = sys.argv[1:]
    url, child = None, None
    binary = os.path.join(HERE, "..", "..", "target", "debug", "sandbox")
    while args:
        flag = args.pop(0)
        if flag == "--url" and args:
            url = args.pop(0)
        elif flag == "--bin" and args:
            binary = args.pop(0)
        else:
            raise SystemExit(f"unknown or incomplete option {flag}; use --url URL or --bin PATH")
    if url is None:
        url, child = start_sandbox(os.path.abspath(binary))
    print(f"sdk-python: PureCloudPlatformClientV2 {pc.__version__ if hasattr(pc, '__version__') else ''} against {url}")

    results = []

    def check(name, fn):
        started = time.time()
        try:
            detail = fn()
            results.append(True)
            print(f"  ok    {name}{f' ({detail})' if detail else ''} [{int((time.time() - started) * 1000)} ms]")
        except Exception as e:  # noqa: BLE001 (every failure is reported, then counted)
            results.append(False)
            print(f"  FAIL  {name}: {e}")

    client = sdk_client(url)
    state = {}
    try:
        def login():
            client.get_client_credentials_token(*SERVICE)
            assert client.access_token, "no access token"
            return "token issued"

        check("client-credentials login (get_client_credentials_token)", login)
        token = client.access_token
        users = pc.UsersApi(client)
        search = pc.SearchApi(client)
        tokens = pc.TokensApi(client)

        def tokens_me():
            info = tokens.get_tokens_me()
            assert info.o_auth_client.id == SERVICE[0], info.o_auth_client
            assert "users:readonly" in info.authorized_scope
            status, answer, _ = raw(url, token, "/api/v2/tokens/me")
            lossless(client, answer, "TokenInfo")
            return f"grant {info.o_auth_client.authorized_grant_type}"

        check("get_tokens_me reads into TokenInfo without loss", tokens_me)

        def all_pages():
            seen, names, page, count = set(), [], 1, 1
            while page <= count:
                listing = users.get_users(page_size=100, page_number=page, state="any", expand=["presence"])
                _, answer, _ = raw(url, token, f"/api/v2/users?pageSize=100&pageNumber={page}&state=any&expand=presence")
                lossless(client, answer, "UserEntityListing")
                for u in listing.entities:
                    assert u.id not in seen, f"{u.id} twice"
                    seen.add(u.id)
                    names.append(u.name.lower())
                count = listing.page_count
                state.setdefault("first", listing.entities[0].id)
                page += 1
            assert len(seen) == listing.total, (len(seen), listing.total)
            assert names == sorted(names), "not in name order"
            return f"{count} pages, {len(seen)} users"

        check("get_users: every page, each user once, in name order, without loss", all_pages)

        def by_id():
            user = users.get_user(state["first"], expand=["presence"])
            _, answer, _ = raw(url, token, f"/api/v2/users/{state['first']}?expand=presence")
            lossless(client, answer, "User")
            return user.name

        check("get_user by id reads into User without loss", by_id)

        expands = ["presence", "routingStatus", "geolocation", "station", "authorization",
                   "authorization.unusedRoles", "dateLastLogin"]

        def every_expand():
            listing = users.get_users(page_size=100, page_number=1, state="any", expand=expands)
            _, answer, _ = raw(url, token, "/api/v2/users?pageSize=100&pageNumber=1&state=any&expand=" + ",".join(expands))
            lossless(client, answer, "UserEntityListing")
            u = listing.entities[0]
            assert u.chat.jabber_id and u.primary_contact_info[0].media_type == "EMAIL", u.chat
            assert u.routing_status.status and u.geolocation.city and u.authorization.roles, u.id
            assert any(e.images for e in listing.entities), "nobody has a picture"
            assert any(e.station.associated_station for e in listing.entities), "nobody has a station"
            assert any(e.date_last_login for e in listing.entities), "nobody ever signed in"
            state["jabber"] = [e.chat.jabber_id for e in listing.entities[:2]]
            state["ids"] = [e.id for e in listing.entities[:2]]
            return "chat, contacts, addresses, images, routingStatus, geolocation, station, authorization, dateLastLogin"

        check("get_users with every modelled expand reads into User without loss", every_expand)

        def jabber_filter():
            listing = users.get_users(jabber_id=state["jabber"])
            assert sorted(u.id for u in listing.entities) == sorted(state["ids"]), listing.entities
            body = expect_api_error(lambda: users.get_users(id=state["ids"][:1], jabber_id=state["jabber"][:1]), 400)
            lossless(client, body, "ErrorBody")
            return "found by jabberId; with id too, a 400"

        check("get_users jabber_id[] finds users; together with id[] it is a 400", jabber_filter)

        def integration_presence():
            listing = users.get_users(page_size=10, expand=["presence"], integration_presence_source="MicrosoftTeams")
            _, answer, _ = raw(url, token, "/api/v2/users?pageSize=10&expand=presence&integrationPresenceSource=MicrosoftTeams")
            lossless(client, answer, "UserEntityListing")
            assert all(u.presence.source == "MicrosoftTeams" for u in listing.entities), listing.entities[0].presence
            expect_api_error(lambda: users.get_users(page_size=101, expand=["presence"], integration_presence_source="ZoomPhone"), 400)
            return "presence from MicrosoftTeams; pageSize 101 is a 400"

        check("get_users integration_presence_source", integration_presence)

        def one_search(query, order="ASC", size=25):
            body = pc.UserSearchRequest()
            body.page_size, body.page_number, body.sort_order, body.sort_by = size, 1, order, "name"
            body.query = []
            for q in query:
                criterion = pc.UserSearchCriteria()
                criterion.type = q["type"]
                criterion.fields = q.get("fields")
                criterion.value = q.get("value")
                body.query.append(criterion)
            found = search.post_users_search(body)
            sent = client.sanitize_for_serialization(body)
            _, answer, _ = raw(url, token, "/api/v2/users/search", sent)
            lossless(client, answer, "UsersSearchResponse")
            return found

        for kind, value in [("EXACT", None), ("CONTAINS", "silva"), ("STARTS_WITH", "ana"), ("QUERY_STRING", "silva")]:
            def run(kind=kind, value=value):
                if kind == "EXACT":
                    found = one_search([{"type": "EXACT", "fields": ["id"], "value": state["first"]}])
                    assert found.total == 1, found.total
                else:
                    found = one_search([{"type": kind, "fields": ["name", "email"], "value": value}])
                    assert found.total > 0, found.total
                return f"{found.total} found"

            check(f"post_users_search {kind} reads into UsersSearchResponse without loss", run)

        def criteria(items):
            built = []
            for q in items:
                criterion = pc.UserSearchCriteria()
                for key, value in q.items():
                    setattr(criterion, {"type": "type", "fields": "fields", "value": "value", "values": "values",
                                        "operator": "operator", "startValue": "start_value",
                                        "endValue": "end_value", "dateFormat": "date_format"}.get(key, key),
                            criteria(value) if key == "group" else value)
                built.append(criterion)
            return built

        def more_types():
            counts = []
            for query in [
                [{"type": "TERM", "fields": ["name"], "value": "silva"}],
                [{"type": "TERMS", "fields": ["name"], "values": ["silva", "wang"]}],
                [{"type": "MATCH_ALL"}],
                [{"type": "REQUIRED_FIELDS", "fields": ["name", "email"]}],
                [{"type": "RANGE", "fields": ["name"], "startValue": "b", "endValue": "d"}],
                [{"type": "LESS_THAN", "fields": ["name"], "value": "c"}],
                [{"type": "GREATER_THAN", "fields": ["name"], "value": "t"}],
                [{"type": "LESS_THAN_EQUAL_TO", "fields": ["name"], "value": "c"}],
                [{"type": "GREATER_THAN_EQUAL_TO", "fields": ["name"], "value": "t"}],
                [{"type": "REGEX", "fields": ["name"], "value": "s.lva"}],
                [{"group": [{"type": "TERM", "fields": ["name"], "value": "silva", "operator": "OR"},
                            {"type": "TERM", "fields": ["name"], "value": "wang", "operator": "OR"}]},
                 {"type": "STARTS_WITH", "fields": ["name"], "value": "z", "operator": "NOT"}],
            ]:
                body = pc.UserSearchRequest()
                body.page_size, body.page_number, body.sort_order = 25, 1, "ASC"
                body.query = criteria(query)
                found = search.post_users_search(body)
                sent = client.sanitize_for_serialization(body)
                _, answer, _ = raw(url, token, "/api/v2/users/search", sent)
                lossless(client, answer, "UsersSearchResponse")
                assert found.total > 0, (query, found.total)
                counts.append(found.total)
            return "totals " + " ".join(map(str, counts))

        check("post_users_search TERM, TERMS, MATCH_ALL, REQUIRED_FIELDS, RANGE, LESS_THAN(_EQUAL_TO), GREATER_THAN(_EQUAL_TO), REGEX, OR group and NOT", more_types)

        def orders():
            asc = [u.id for u in one_search([{"type": "CONTAINS", "fields": ["name"], "value": "silva"}], "ASC", 100).results]
            desc = [u.id for u in one_search([{"type": "CONTAINS", "fields": ["name"], "value": "silva"}], "DESC", 100).results]
            assert asc and asc == list(reversed(desc)), "DESC is not ASC reversed"
            return f"{len(asc)} results"

        check("post_users_search sortOrder ASC and DESC (the SDK's values)", orders)

        def multi_sort():
            body = pc.UserSearchRequest()
            body.page_size, body.page_number, body.enforce_permissions = 100, 1, True
            body.query = criteria([{"type": "MATCH_ALL"}])
            keys = []
            for field, order in [("department", "ASC"), ("name", "DESC")]:
                key = pc.SearchSort()
                key.sort_by, key.sort_order = field, order
                keys.append(key)
            body.sort = keys
            found = search.post_users_search(body)
            sent = client.sanitize_for_serialization(body)
            assert sent["sort"][1] == {"sortBy": "name", "sortOrder": "DESC"}, sent["sort"]
            _, answer, _ = raw(url, token, "/api/v2/users/search", sent)
            lossless(client, answer, "UsersSearchResponse")
            rows = [((u.department or "").lower(), u.name.lower()) for u in found.results]
            for a, b in zip(rows, rows[1:]):
                assert a[0] < b[0] or (a[0] == b[0] and a[1] >= b[1]), (a, b)
            return f"{len(rows)} rows by department, then name descending"

        check("post_users_search sort[] (SearchSort) and enforce_permissions", multi_sort)

        def q64_paging():
            found = one_search([{"type": "CONTAINS", "fields": ["name", "email"], "value": "a"}])
            link = found.next_page
            assert link and "q64=" in link, link
            q64 = urllib.parse.unquote(link.split("q64=", 1)[1])
            unpacked = json.loads(gzip.decompress(base64.urlsafe_b64decode(q64)))
            assert unpacked["pageNumber"] == 2, unpacked
            page = search.get_users_search(q64)
            assert page.page_number == 2 and page.results, page.page_number
            return f"page 2 of {found.page_count}"

        check("get_users_search follows a gzipped q64 nextPage link", q64_paging)

        def bad_order():
            body = pc.UserSearchRequest()
            body.page_size, body.page_number = 10, 1
            status, answer, _ = raw(url, token, "/api/v2/users/search", {"pageSize": 10, "pageNumber": 1, "sortOrder": "ascending", "query": []})
            assert status == 400, status
            lossless(client, answer, "ErrorBody")
            return answer["code"]

        check("a search with a listing's sortOrder is a 400 that reads into ErrorBody", bad_order)

        def errors():
            body = expect_api_error(lambda: users.get_users(page_size=501), 400)
            lossless(client, body, "ErrorBody")
            body = expect_api_error(lambda: users.get_user("no-such-user"), 404)
            lossless(client, body, "ErrorBody")
            return "400 and 404"

        check("API errors read into ErrorBody without loss", errors)

        def expired():
            status, answer, _ = raw(url, "not-a-token", "/api/v2/users")
            assert status == 401 and answer["code"] == "bad.credentials", answer
            lossless(client, answer, "ErrorBody")
            return answer["code"]

        check("a bad token is a 401 bad.credentials ErrorBody", expired)

        def rate_limit():
            # The sandbox's admin endpoint forces every API answer to a 429 for a moment.
            admin = urllib.request.Request(url.rstrip("/") + "/sandbox/faults", method="PUT",
                                           data=json.dumps({"rateLimitRate": 1.0}).encode(),
                                           headers={"Content-Type": "application/json", "X-Sandbox-Admin": "1"})
            urllib.request.urlopen(admin, timeout=5).read()
            try:
                status, answer, headers = raw(url, token, "/api/v2/users?pageSize=1")
            finally:
                clear = urllib.request.Request(url.rstrip("/") + "/sandbox/faults", method="PUT",
                                               data=b"{}", headers={"Content-Type": "application/json", "X-Sandbox-Admin": "1"})
                urllib.request.urlopen(clear, timeout=5).read()
            assert status == 429, status
            assert headers.get("Retry-After") or headers.get("retry-after"), headers
            assert re.fullmatch(r"Rate limit exceeded the maximum\. Retry the request in \[\d+\] seconds", answer["message"]), answer["message"]
            lossless(client, answer, "ErrorBody")
            return answer["message"]

        check("a 429 carries Retry-After and Genesys' message, and reads into ErrorBody", rate_limit)
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=10)

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
