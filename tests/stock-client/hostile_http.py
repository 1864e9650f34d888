"""A hostile but realistic CRM integrator, with Python's standard library only, against the real
`maturity serve` as an operator runs it (webhook endpoints on the operator's own network not
allowed). Each class of probe that once got a wrong answer is sent again, and each must stay
refused:

- webhook URLs that name an internal address in another notation, or are not endpoints at all,
  at registration and at update (400);
- the replay of an erased request (404 "erased", never the record);
- `completedAt` out of bounds (400 with the field);
- bodies that are not JSON, or are encoded (415);
- headers or a body that stop arriving, a body short of its Content-Length (408), a connection
  that never sends a request (closed after the idle limit);
- forged and foreign page tokens (400);
- a missing required id (400, not "0 not found");
- a JSON key given twice (400).

Prints each probe that got a wrong answer, then the count of probes and of wrong answers; exits 1
when any answer was wrong. Nothing here imports our code or reads our protos.

Usage: hostile_http.py MATURITY_BINARY
"""

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PROBES, WRONG = [], []


def expect(name, ok, detail=""):
    PROBES.append(name)
    if not ok:
        WRONG.append(name)
        print("WRONG " + name + ": " + str(detail)[:1500])


def call(base, method, path, key=None, body=None, headers=None):
    """(status, parsed or raw body) of one request; `body` a dict (sent as JSON) or bytes."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None and not any(k.lower() == "content-type" for k in (headers or {})):
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", "Bearer " + key)
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        # No HTTP answer at all (a dropped connection): a status no probe expects.
        return 0, str(e)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def raw_exchange(port, data, wait=10):
    """What the server sends back on a connection that sends `data` and then nothing."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        started, got = time.monotonic(), b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except socket.timeout:
            pass
        return got, time.monotonic() - started


def answers_for(model):
    """Every item answered at its scale's middle point."""
    out = []
    for item in model["items"]:
        scale = item["scale"]
        point = scale["points"][len(scale["points"]) // 2]
        if scale["kind"] == "SCALE_KIND_LIKERT":
            out.append({"itemId": item["id"], "likert": int(point["value"])})
        elif scale["kind"] == "SCALE_KIND_YES_NO":
            out.append({"itemId": item["id"], "yes": point["value"] == "yes"})
        else:
            out.append({"itemId": item["id"], "choice": point["value"]})
    return out


URL_TRICKS = [
    "https://127.0.0.1./", "http://127.0.0.1./", "https://localhost./", "https://LOCALHOST/", "https://10.0.0.1./",
    "https://169.254.169.254./latest/meta-data/", "https://127.1./", "https://127.1/", "https://0x7f000001./",
    "https://0x7f.0.0.1/", "https://2130706433./", "https://0177.0.0.1./", "https://192.168.0.1.:8443/",
    "https://[::ffff:7f00:1]/", "https://[::127.0.0.1]/", "https://[64:ff9b::7f00:1]/", "https://[2002:a9fe:a9fe::]/",
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "https://%31%32%37.0.0.1/", "https://[::1%25lo]/",
    "https://crm.example.nl:0/h", "https://crm.example.nl:99999/h", "https://[::1]:443:1/",
]


def probe(base, port, key, other_key, model):
    answers = answers_for(model)
    firm = {"sbiSection": "M", "sizeClass": "small", "province": "NL-UT"}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))

    def submission(tag, completed_at=now):
        return {"requestId": f"hostile-{tag}", "externalRef": f"crm-hostile-{tag}",
                "firmName": f"Vijandig {tag} B.V. (synthetic)", "completedAt": completed_at,
                "assessment": {"firm": firm, "answers": answers, "locale": "nl"}}

    # Webhook URLs: refused at registration, and at update of an endpoint with a public address.
    for url in URL_TRICKS:
        status, reply = call(base, "POST", "/v1/webhookEndpoints", key, {"url": url, "eventTypes": ["chapter.ready"]})
        expect(f"registration of {url} is refused", status == 400, (status, reply))
        text = json.dumps(reply).lower()
        expect(f"the refusal of {url} says nothing of the server's network",
               not any(w in text for w in ("connection refused", "corrupt", "handshake", "timed out", "127.0.0.1:")),
               text)
    status, created = call(base, "POST", "/v1/webhookEndpoints", key,
                           {"url": "https://93.184.215.14/hook", "eventTypes": ["chapter.ready"]})
    expect("an endpoint with a public address is registered", status == 200, (status, created))
    endpoint = created.get("endpoint", {}).get("id", "ep_0") if isinstance(created, dict) else "ep_0"
    for url in URL_TRICKS[:12]:
        status, reply = call(base, "PATCH", f"/v1/webhookEndpoints/{endpoint}?updateMask=url", key, {"url": url})
        expect(f"update to {url} is refused", status == 400, (status, reply))

    # Erasure: the replay of an erased request answers that it was erased, never the record.
    body = submission("erase")
    status, first = call(base, "POST", "/v1/assessments", key, body, {"Idempotency-Key": "hostile-erase"})
    expect("a submission is stored", status == 200, (status, first))
    assessment_id = first.get("assessment", {}).get("id", "0") if isinstance(first, dict) else "0"
    status, reply = call(base, "DELETE", f"/v1/assessments/{assessment_id}", key)
    expect("the assessment is erased", status == 200, (status, reply))
    status, replay = call(base, "POST", "/v1/assessments", key, body, {"Idempotency-Key": "hostile-erase"})
    text = json.dumps(replay) if isinstance(replay, dict) else str(replay)
    expect("the replay of the erased request answers 404 erased", status == 404 and "erased" in text, (status, text))
    expect("the replay names neither the firm nor its reference",
           "Vijandig erase" not in text and "crm-hostile-erase" not in text, text)

    # Dates out of bounds.
    for tag, date in [("far", "9999-12-31T00:00:00Z"), ("ancient", "0001-01-01T00:00:00Z"),
                      ("future", "2100-01-01T00:00:00Z"), ("early", "2012-12-31T00:00:00Z")]:
        status, reply = call(base, "POST", "/v1/assessments", key, submission(tag, date))
        fields = [v.get("field") for v in reply.get("violations", [])] if isinstance(reply, dict) else []
        expect(f"completedAt {date} is refused with its field", status == 400 and "completed_at" in fields, (status, reply))

    # Bodies that are not JSON.
    raw = json.dumps(submission("type")).encode()
    for name, value in [("Content-Type", "text/plain"), ("Content-Type", "application/xml"),
                        ("Content-Type", "application/x-www-form-urlencoded"),
                        ("Content-Type", "multipart/form-data; boundary=x"), ("Content-Encoding", "gzip")]:
        status, reply = call(base, "POST", "/v1/assessments", key, raw, {name: value})
        expect(f"a body with {name}: {value} is refused with 415", status == 415, (status, reply))

    # Slow and short: headers that stop, a body that stops, a body short of its length.
    auth = f"Authorization: Bearer {key}\r\n"
    for name, data in [
        ("headers that stop arriving", f"POST /v1/assessments HTTP/1.1\r\nHost: t\r\n{auth}"),
        ("a body that stops arriving",
         f"POST /v1/assessments HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"req\r\n"),
        ("a body short of its Content-Length",
         f"POST /v1/assessments HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/json\r\n"
         "Content-Length: 400\r\n\r\n{}"),
    ]:
        got, took = raw_exchange(port, data.encode())
        expect(f"{name}: 408 and the connection closed after the limit (1 s), not before",
               got.startswith(b"HTTP/1.1 408") and 0.5 <= took < 5, (got[:200], took))
    got, took = raw_exchange(port, b"")
    expect("a connection that never sends a request is closed without an answer after the idle limit (1.5 s)",
           got == b"" and 0.75 <= took < 5, (got[:200], took))

    # Page tokens: forged positions and another tenant's token.
    for tag in ("page-1", "page-2"):
        call(base, "POST", "/v1/assessments", key, submission(tag))
    status, page = call(base, "GET", "/v1/assessments?pageSize=1", key)
    token = page.get("nextPageToken", "") if isinstance(page, dict) else ""
    expect("a listing gives a page token", status == 200 and token, (status, page))
    forged = []
    if "." in token:
        mac = token.split(".", 1)[1]
        for position in ("1000", "-1", "0"):
            forged.append(base64.urlsafe_b64encode(position.encode()).decode().rstrip("=") + "." + mac)
    forged += ["1000.AAAA", "x", "-1." + token]
    for bad in forged:
        status, reply = call(base, "GET", f"/v1/assessments?pageSize=1&pageToken={bad}", key)
        expect(f"the forged page token {bad} is refused", status == 400, (status, reply))
    status, reply = call(base, "GET", f"/v1/assessments?pageSize=1&pageToken={token}", other_key)
    expect("another tenant's page token is refused", status == 400, (status, reply))

    # A missing required id.
    for method in ("PersistenceService/GetAssessment", "PersistenceService/DeleteAssessment",
                   "WebhookService/GetWebhookEndpoint", "WebhookService/RotateWebhookSecret",
                   "WebhookService/ReplayWebhookEvent"):
        status, reply = call(base, "POST", f"/v1/{method}", key, {})
        expect(f"{method} without its id is 400", status == 400 and "REQUIRED_FIELD" in json.dumps(reply), (status, reply))

    # A JSON key given twice, by the same name and by its proto name.
    for doubled in (b'{"requestId": "a", "requestId": "b"}', b'{"externalRef": "a", "external_ref": "b"}'):
        status, reply = call(base, "POST", "/v1/assessments", key, doubled)
        expect(f"the body {doubled.decode()} is refused", status == 400, (status, reply))


def main():
    maturity = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="hostile-")
    common = ["--database-url", f"sqlite://{scratch}/m.db?mode=rwc", "--pseudonym-key-file", f"{scratch}/key"]
    migrated = subprocess.run([maturity, "migrate", *common], capture_output=True, text=True)
    if migrated.returncode != 0:
        print(migrated.stdout + migrated.stderr)
        sys.exit(1)
    keys = []
    for tenant in ("acme", "other"):
        made = subprocess.run([maturity, "admin", *common, "create-tenant", tenant, "--name", tenant],
                              capture_output=True, text=True)
        issued = subprocess.run([maturity, "admin", *common, "issue-key", tenant, "--label", "hostile"],
                                capture_output=True, text=True)
        keys.append((issued.stdout.strip().splitlines() or [""])[-1])
        if made.returncode != 0 or not keys[-1].startswith("mk_"):
            print(made.stdout + made.stderr + issued.stdout + issued.stderr)
            sys.exit(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATURITY_")}
    server = subprocess.Popen(
        [maturity, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "off",
         "--http-header-timeout-ms", "1000", "--http-body-timeout-ms", "1000", "--http-idle-timeout-ms", "1500",
         "--log-level", "error", *common],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        server.stdout.readline()
        base = server.stdout.readline().split("listening on ", 1)[1].split()[0]
        port = int(base.rsplit(":", 1)[1])
        status, model = call(base, "GET", "/v1/models/nl-social-business", keys[0])
        if status != 200:
            print("the model cannot be fetched", status, model)
            sys.exit(1)
        probe(base, port, keys[0], keys[1], model)
        status, _ = call(base, "GET", "/v1/models", keys[0])
        expect("the server still serves after the probes", status == 200, status)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"hostile HTTP: {len(PROBES)} probes, {len(WRONG)} wrong answers")
    sys.exit(1 if WRONG else 0)


if __name__ == "__main__":
    main()
