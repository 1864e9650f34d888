"""The integration surface as a CRM developer meets it, with stock tools only, against the real
`maturity` server (and `report-gen` for the nightly batch):

1. A client generated from the served `/openapi.json` by the stock generator
   `openapi-python-client` runs the whole CRM flow: register a webhook endpoint, fetch the
   questionnaire, submit an assessment (and retry it with the same Idempotency-Key), receive and
   verify the signed `assessment.scored` webhook, poll the assessment until the nightly batch has
   written its chapter, receive and verify `chapter.ready`, download the chapter, query the sector
   benchmark.
2. `grpcurl` (with server reflection, nothing of our protos) calls every method of every public
   service the server lists.
3. `curl` calls every REST route of the table in docs/integration.md, and the table names every
   public method.

Nothing here imports our code or reads our protos.

Usage: crm_flow.py MATURITY_BINARY REPORT_GEN_BINARY INTEGRATION_GUIDE
"""

import base64
import hashlib
import hmac
import http.server
import importlib
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

PASSED, FAILED = [], []
TOOLS = os.path.dirname(sys.executable)


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:2000]))
    return ok


class Receiver(http.server.ThreadingHTTPServer):
    """A CRM's webhook endpoint: keeps every delivery (headers and the raw body)."""

    def __init__(self):
        self.deliveries = queue.Queue()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.deliveries.put(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/maturity"

    def wait_for(self, event_type, timeout=60):
        """The first delivery of `event_type` (others are kept aside)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                headers, body = self.deliveries.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if json.loads(body).get("type") == event_type:
                return headers, body
        return None


def verify(secret, headers, body, tolerance=300):
    """Standard Webhooks verification, as docs/integration.md tells a receiver to do it."""
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers.get("webhook-signature", "").split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


def run(*args, **kwargs):
    """A command, with the virtual environment's tools (ruff, for the generator) on the PATH."""
    env = dict(os.environ, PATH=TOOLS + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, env=env, **kwargs)


def generate_client(spec_path, scratch):
    """The client of the served document, by the stock generator; imported as `maturity_client`."""
    config = os.path.join(scratch, "generator.yml")
    with open(config, "w") as f:
        f.write("project_name_override: maturity-client\npackage_name_override: maturity_client\n")
    out = os.path.join(scratch, "generated", "maturity_client")
    gen = run(os.path.join(TOOLS, "openapi-python-client"), "generate", "--path", spec_path, "--meta", "none",
              "--output-path", out, "--config", config, "--fail-on-warning")
    check("openapi-python-client generates a client from /openapi.json without a warning", gen.returncode == 0,
          gen.stdout + gen.stderr)
    sys.path.insert(0, os.path.dirname(out))
    return importlib.import_module("maturity_client")


def model_class(name):
    """A generated model class by its schema's name (`maturity.v1.Assessment`)."""
    models = importlib.import_module("maturity_client.models")
    wanted = name.replace(".", "").replace("_", "").lower()
    for attr in dir(models):
        if attr.lower() == wanted:
            return getattr(models, attr)
    raise LookupError(name)


def enum(name, value):
    """A value of a generated enum (the generator types enumerated parameters)."""
    return getattr(importlib.import_module("maturity_client.models"), name)(value)


def operation(tag, op):
    return importlib.import_module(f"maturity_client.api.{tag}.{op}")


def answers_for(model):
    """Every item answered at its scale's middle point."""
    out = []
    for item in model["items"]:
        scale = item["scale"]
        point = scale["points"][len(scale["points"]) // 2]
        kind = scale["kind"]
        if kind == "SCALE_KIND_LIKERT":
            out.append({"itemId": item["id"], "likert": int(point["value"])})
        elif kind == "SCALE_KIND_YES_NO":
            out.append({"itemId": item["id"], "yes": point["value"] == "yes"})
        else:
            out.append({"itemId": item["id"], "choice": point["value"]})
    return out


def crm_flow(client, key, receiver, report_gen, common, scratch):
    """The CRM flow, with the generated client only."""
    create = operation("webhook_service", "create_webhook_endpoint")
    body = model_class("maturity.v1.CreateWebhookEndpointRequest").from_dict(
        {"url": receiver.url(), "description": "CRM", "eventTypes": ["assessment.scored", "chapter.ready"]})
    reply = create.sync_detailed(client=client, body=body)
    check("the generated client registers a webhook endpoint", reply.status_code == 200, reply.content)
    secret = json.loads(reply.content)["secret"]

    reply = operation("scoring_service", "get_model").sync_detailed(
        client=client, model_id="nl-social-business", locale=enum("GetModelLocale", "nl"))
    check("the generated client fetches the questionnaire", reply.status_code == 200, reply.content)
    model = json.loads(reply.content)

    submit = operation("persistence_service", "submit_assessment")
    request = {
        "requestId": "hubspot-deal-4711-v1",
        "externalRef": "hubspot-deal-4711",
        "firmName": "Synthetisch Adviesbureau B.V. (synthetic)",
        "completedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600)),
        "assessment": {"firm": {"sbiSection": "M", "sizeClass": "small", "province": "NL-UT"},
                       "answers": answers_for(model), "locale": "nl"},
    }
    first = submit.sync_detailed(client=client, body=model_class("maturity.v1.SubmitAssessmentRequest").from_dict(request),
                                 idempotency_key=request["requestId"])
    check("the generated client submits an assessment", first.status_code == 200, first.content)
    submitted = first.parsed
    assessment_id = submitted.assessment.id
    again = submit.sync_detailed(client=client, body=model_class("maturity.v1.SubmitAssessmentRequest").from_dict(request),
                                 idempotency_key=request["requestId"])
    check("a retry with the same Idempotency-Key answers the same assessment",
          again.status_code == 200 and again.parsed.assessment.id == assessment_id, again.content)

    delivery = receiver.wait_for("assessment.scored")
    check("the assessment.scored webhook arrives", delivery is not None)
    if delivery:
        headers, raw = delivery
        check("its signature verifies with the endpoint's secret", verify(secret, headers, raw), headers)
        check("a tampered body does not verify", not verify(secret, headers, raw + b" "))
        check("it names the assessment", json.loads(raw)["data"]["assessmentId"] == assessment_id, raw)

    get = operation("persistence_service", "get_assessment")
    status = get.sync(client=client, id=assessment_id).report_status
    check("before the night the chapter is pending", str(status).endswith("PENDING"), status)
    # report-gen reads the database only: the pseudonym key is the server's.
    night = run(report_gen, "nightly", "--out", os.path.join(scratch, "chapters"), "--jobs", "1", *common[:2])
    check("the nightly batch writes the chapter", night.returncode == 0, night.stdout + night.stderr)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = get.sync(client=client, id=assessment_id).report_status
        if str(status).endswith("RENDERED"):
            break
        time.sleep(0.5)
    check("polling the assessment sees its chapter rendered", str(status).endswith("RENDERED"), status)

    delivery = receiver.wait_for("chapter.ready")
    check("the chapter.ready webhook arrives", delivery is not None)
    if delivery:
        headers, raw = delivery
        check("its signature verifies", verify(secret, headers, raw), headers)
        data = json.loads(raw)["data"]
        check("it tells where to download the chapter",
              data["download"].startswith(f"/v1/assessments/{assessment_id}/chapter"), data)

    chapter = operation("report_service", "render_chapter").sync_detailed(
        client=client, assessment_id=assessment_id, locale=enum("RenderChapterLocale", "nl"))
    check("the generated client downloads the chapter PDF",
          chapter.status_code == 200 and chapter.content.startswith(b"%PDF-"), chapter.status_code)

    bench = operation("benchmark_service", "query_benchmark").sync_detailed(
        client=client, group_sbi_section=enum("QueryBenchmarkGroupSbiSection", "M"),
        group_size_class=enum("QueryBenchmarkGroupSizeClass", "small"), locale=enum("QueryBenchmarkLocale", "en"))
    check("the generated client queries the sector benchmark", bench.status_code == 200, bench.content)
    if bench.status_code == 200:
        answer = json.loads(bench.content)
        check("the benchmark answers a disclosed group with distributions",
              int(answer["groupUsed"]["n"]) >= int(answer["groupUsed"]["k"]) and answer["distributions"], answer["groupUsed"])

    listed = operation("persistence_service", "list_assessments").sync(client=client, external_ref="hubspot-deal-4711")
    check("listing by the CRM's reference finds the assessment",
          [a.id for a in listed.assessments] == [assessment_id], listed)
    return assessment_id


def requests_by_method(assessment_id, endpoint_url, delete_id, doomed_endpoint, event_id, endpoint_id, answers,
                       invitation_id=""):
    """One request per public method, as JSON (the gRPC request; the REST route maps it)."""
    firm = {"sbiSection": "M", "sizeClass": "small", "province": "NL-UT"}
    return {
        "maturity.v1.InvitationService.CreateInvitation": {
            "externalRef": "tools", "firmName": "Tools B.V. (synthetic)", "firm": firm, "locale": "en"},
        "maturity.v1.InvitationService.GetInvitation": {"id": invitation_id},
        "maturity.v1.InvitationService.ListInvitations": {"pageSize": 1, "externalRef": "tools"},
        "maturity.v1.InvitationService.RevokeInvitation": {"id": invitation_id},
        "maturity.v1.ScoringService.ListModels": {"locale": "en"},
        "maturity.v1.ScoringService.GetModel": {"model": {"id": "nl-social-business"}, "locale": "en"},
        "maturity.v1.ScoringService.ScoreAssessment": {"firm": firm, "answers": answers},
        "maturity.v1.ScoringService.WhatIf": {"assessment": {"firm": firm, "answers": answers}, "changes": answers[:1]},
        "maturity.v1.PersistenceService.SubmitAssessment": {
            "requestId": f"tools-{delete_id}", "externalRef": "tools", "firmName": "Tools B.V. (synthetic)",
            "assessment": {"firm": firm, "answers": answers}},
        "maturity.v1.PersistenceService.GetAssessment": {"id": assessment_id, "locale": "en"},
        "maturity.v1.PersistenceService.ListAssessments": {"pageSize": 2},
        "maturity.v1.PersistenceService.DeleteAssessment": {"id": delete_id},
        "maturity.v1.BenchmarkService.QueryBenchmark": {"group": {"sbiSection": "M"}, "locale": "en"},
        "maturity.v1.BenchmarkService.GetPeerPosition": {"firm": firm, "maturityIndex": 40.0, "externalIndex": 40.0,
                                                         "internalIndex": 40.0},
        "maturity.v1.BenchmarkService.ListPeerGroups": {},
        "maturity.v1.BenchmarkService.Trend": {"group": {"sbiSection": "M"}},
        "maturity.v1.BenchmarkService.ExportReleases": {"format": "EXPORT_FORMAT_PARQUET"},
        "maturity.v1.ReportService.RenderChapter": {"assessmentId": assessment_id, "format": "CHAPTER_FORMAT_TYPST"},
        "maturity.v1.ReportService.RenderSectorVolume": {"sbiSection": "M", "format": "CHAPTER_FORMAT_TYPST"},
        "maturity.v1.WebhookService.CreateWebhookEndpoint": {"url": endpoint_url},
        "maturity.v1.WebhookService.ListWebhookEndpoints": {"pageSize": 1},
        "maturity.v1.WebhookService.GetWebhookEndpoint": {"id": endpoint_id},
        "maturity.v1.WebhookService.UpdateWebhookEndpoint": {"endpoint": {"id": endpoint_id, "description": "updated"},
                                                             "updateMask": "description"},
        "maturity.v1.WebhookService.DeleteWebhookEndpoint": {"id": doomed_endpoint},
        "maturity.v1.WebhookService.RotateWebhookSecret": {"id": endpoint_id},
        "maturity.v1.WebhookService.ListWebhookEvents": {"type": "assessment.scored"},
        "maturity.v1.WebhookService.ListWebhookDeliveries": {"eventId": event_id},
        "maturity.v1.WebhookService.ReplayWebhookEvent": {"eventId": event_id, "endpointId": endpoint_id},
        "maturity.v1.DiagnosticsService.Echo": {"payload": "aGFsbG8="},
    }


def last_of(methods):
    """Deletions last, so that what they remove is not needed after."""
    return sorted(methods, key=lambda m: ".Delete" in m)


def flatten(prefix, value, out):
    """A JSON request's fields as query parameters (nested ones dotted)."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list):
        for v in value:
            out.append((prefix, str(v)))
    else:
        out.append((prefix, str(value).lower() if isinstance(value, bool) else str(value)))


def json_name(name):
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def rest_request(route, body_rule, request):
    """The method, path, query string and body of `request` on a transcoded route."""
    verb, template = route.split(" ", 1)
    request = json.loads(json.dumps(request))
    path = template
    for var in re.findall(r"\{([^}]+)\}", template):
        node, parts = request, [json_name(p) for p in var.split(".")]
        for p in parts[:-1]:
            node = node.get(p, {})
        value = node.pop(parts[-1], None) if isinstance(node, dict) else None
        path = path.replace("{" + var + "}", urllib.parse.quote(str(value), safe=""))
    if body_rule == "the request":
        return verb, path, "", json.dumps(request)
    if body_rule:
        body = request.pop(json_name(body_rule), {})
        params = []
        flatten("", request, params)
        return verb, path, urllib.parse.urlencode(params), json.dumps(body)
    params = []
    flatten("", request, params)
    return verb, path, urllib.parse.urlencode(params), None


def every_method_by_stock_tools(grpc_addr, http_base, key, assessment_id, receiver, guide):
    """grpcurl over gRPC and curl over the REST routes, each on every public method."""
    grpcurl = os.path.join(TOOLS, "grpcurl")
    listed = run(grpcurl, "-plaintext", grpc_addr, "list")
    services = [s for s in listed.stdout.split() if s.startswith("maturity.v1.")]
    methods = []
    for service in services:
        out = run(grpcurl, "-plaintext", grpc_addr, "list", service)
        methods += [m.strip() for m in out.stdout.split() if m.strip()]
    check("grpcurl lists the public services by reflection", len(services) == 7 and len(methods) >= 24,
          listed.stdout + listed.stderr)
    model = json.loads(urllib.request.urlopen(f"{http_base}/v1/models/nl-social-business", timeout=30).read())
    answers = answers_for(model)
    auth = f"authorization: Bearer {key}"

    def grpc_call(method, request):
        service, name = method.rsplit(".", 1)
        return run(grpcurl, "-plaintext", "-H", auth, "-d", json.dumps(request), grpc_addr, f"{service}/{name}")

    def submit_one(tag):
        request = requests_by_method(assessment_id, receiver.url(), tag, "", "", "", answers)[
            "maturity.v1.PersistenceService.SubmitAssessment"]
        reply = grpc_call("maturity.v1.PersistenceService.SubmitAssessment", request)
        return json.loads(reply.stdout)["assessment"]["id"]

    def new_endpoint():
        reply = grpc_call("maturity.v1.WebhookService.CreateWebhookEndpoint", {"url": receiver.url()})
        return json.loads(reply.stdout)["endpoint"]["id"]

    def new_invitation():
        request = requests_by_method("", "", "", "", "", "", answers)["maturity.v1.InvitationService.CreateInvitation"]
        reply = grpc_call("maturity.v1.InvitationService.CreateInvitation", request)
        return json.loads(reply.stdout)["invitation"]["id"]

    events = grpc_call("maturity.v1.WebhookService.ListWebhookEvents", {})
    event_id = json.loads(events.stdout)["events"][0]["id"]
    endpoint_id = new_endpoint()

    # gRPC, by grpcurl.
    reached = set()
    requests = requests_by_method(assessment_id, receiver.url(), submit_one("grpcurl"), new_endpoint(), event_id,
                                  endpoint_id, answers, new_invitation())
    # grpcurl 1.8.6 reads a FieldMask as its message form, not the string of proto3 JSON.
    requests["maturity.v1.WebhookService.UpdateWebhookEndpoint"]["updateMask"] = {"paths": ["description"]}
    for method in last_of(methods):
        if method not in requests:
            check(f"grpcurl: a request for {method}", False, "none written here")
            continue
        reply = grpc_call(method, requests[method])
        if check(f"grpcurl {method}", reply.returncode == 0, reply.stderr):
            reached.add(method)
    check("grpcurl reaches every public method", reached == set(methods), set(methods) - reached)

    # REST, by curl, route by route as docs/integration.md's table gives them.
    rows = {}
    for line in guide.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3 and "Service." in cells[0]:
            rows["maturity.v1." + cells[0]] = (cells[1], cells[2].strip("`"))
    check("docs/integration.md maps every public method to a REST route", set(rows) == set(methods),
          set(methods) ^ set(rows))
    requests = requests_by_method(assessment_id, receiver.url(), submit_one("curl"), new_endpoint(), event_id,
                                  endpoint_id, answers, new_invitation())
    reached = set()
    for method in last_of(rows):
        verb, path, query, body = rest_request(rows[method][0], rows[method][1], requests[method])
        url = f"{http_base}{path}" + (f"?{query}" if query else "")
        args = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", verb, "-H", f"Authorization: Bearer {key}"]
        if body is not None:
            args += ["-H", "Content-Type: application/json", "--data-binary", body]
        reply = run(*args, url)
        if check(f"curl {verb} {path}{'?' + query if query else ''}", reply.stdout == "200", reply.stdout + reply.stderr):
            reached.add(method)
    check("curl reaches every public method at its REST route", reached == set(rows), set(rows) - reached)


def main():
    maturity, report_gen, guide_path = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(guide_path) as f:
        guide = f.read()
    scratch = tempfile.mkdtemp(prefix="crm-flow-")
    common = ["--database-url", f"sqlite://{scratch}/m.db?mode=rwc", "--pseudonym-key-file", f"{scratch}/key"]
    for args in (["seed-demo", *common, "--companies", "3000"],
                 ["admin", *common, "create-tenant", "acme", "--name", "Acme Advies"]):
        done = run(maturity, *args)
        check(f"maturity {args[0]}", done.returncode == 0, done.stdout + done.stderr)
    issued = run(maturity, "admin", *common, "issue-key", "acme", "--label", "crm-flow")
    key = (issued.stdout.strip().splitlines() or [""])[-1]
    if not check("an API key is issued", issued.returncode == 0 and key.startswith("mk_"), issued.stdout + issued.stderr):
        sys.exit(1)

    receiver = Receiver()
    env = dict(os.environ, MATURITY_WEBHOOK_ALLOW_PRIVATE_NETWORKS="true")
    server = subprocess.Popen(
        [maturity, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
         "--log-level", "warn", *common],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        grpc_addr = server.stdout.readline().strip().rsplit(" ", 1)[-1].removeprefix("http://")
        http_base = server.stdout.readline().split("listening on ", 1)[1].split()[0]
        spec_path = os.path.join(scratch, "openapi.json")
        with urllib.request.urlopen(f"{http_base}/openapi.json", timeout=30) as reply, open(spec_path, "wb") as f:
            f.write(reply.read())
        client_module = generate_client(spec_path, scratch)
        client = client_module.AuthenticatedClient(base_url=http_base, token=key, raise_on_unexpected_status=False)
        assessment_id = crm_flow(client, key, receiver, report_gen, common, scratch)
        every_method_by_stock_tools(grpc_addr, http_base, key, assessment_id, receiver, guide)
    finally:
        server.terminate()
        code = server.wait(timeout=30)
        check("server exits 0 on SIGTERM", code == 0, code)
        receiver.shutdown()

    print(f"CRM flow and stock tools: {len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
