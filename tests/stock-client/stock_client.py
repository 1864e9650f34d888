"""A stock gRPC client in another language (Python's grpcio) against the real `maturity` server.

It knows nothing of our protos: it discovers `maturity.v1.ScoringService` through server
reflection, builds its message classes from the descriptors the server sends, fetches the model in
both languages, scores an assessment and checks every number against an independent calculation
from docs/method.md and the model file (read here with tomllib, not through our code).

It also fetches `/openapi.json` and validates it against the OpenAPI 3.1 schema with a
maintained validator (openapi-spec-validator), and reads `/metrics` of the operators' port with
the OpenMetrics parser of the Prometheus project's Python client (prometheus_client), after a call
that carries a W3C trace context: the call's latency bucket must hold that trace id as its
exemplar.

Usage: stock_client.py MATURITY_BINARY MODEL_FILE
"""

import json
import subprocess
import sys
import tempfile
import tomllib
import urllib.request

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from openapi_spec_validator import OpenAPIV31SpecValidator
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as prometheus_text_families

PASSED, FAILED = [], []


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)))


def close(a, b):
    return abs(a - b) < 1e-9


def expected_result(model, answers):
    """The scoring rules of docs/method.md, written independently of the Rust engine."""
    scales = model["scales"]
    items = {it["id"]: it for it in model["items"]}
    score = {}
    for item_id, kind, value in answers:
        if kind == "dont_know":
            continue
        scale = scales[items[item_id]["scale"]]
        key = {"likert": str(value), "yes": "yes" if value else "no", "choice": value}[kind]
        score[item_id] = next(p["score"] for p in scale["points"] if p["value"] == key)

    rules = model["scoring"]

    def evidence(target):
        total = answered = 0
        num = den = 0.0
        for it in model["items"]:
            w = it["evidence"].get(target)
            if w is None:
                continue
            total += 1
            if it["id"] in score:
                answered += 1
                num += w * score[it["id"]]
                den += w
        mean = 100.0 * num / den if answered else None
        insufficient = answered < rules["min_answered_share"] * total
        return mean, insufficient

    out = {}
    for axis, letter in (("external", "E"), ("internal", "I")):
        caps, attained = [], 0
        for s in range(1, 5):
            mean, insufficient = evidence(f"{letter}{s}")
            cap = mean or 0.0
            caps.append(cap)
            if not insufficient and cap >= rules["attainment_threshold"]:
                attained = s
        index = sum(w * c for w, c in zip(rules["stage_weights"], caps))
        out[axis] = {"caps": caps, "index": index, "attained": attained}
    w = rules["axis_weights"]
    out["maturity"] = w["external"] * out["external"]["index"] + w["internal"] * out["internal"]["index"]
    p, _ = evidence("proposition")
    native, _ = evidence("social_native")
    out["proposition"] = p
    out["social_native"] = native is not None and native >= 50
    fit = model["fit"]
    target = fit["base"] + fit["slope"] * p
    gap = out["maturity"] - target
    out["target"], out["gap"] = target, gap
    restraint_below = fit.get("restraint_below")  # version 2 on
    out["verdict"] = (
        "FIT_VERDICT_BALANCED" if abs(gap) <= fit["tolerance"]
        else "FIT_VERDICT_OVER_INVESTED" if gap > 0
        else "FIT_VERDICT_RESTRAINED" if restraint_below is not None and p < restraint_below
        else "FIT_VERDICT_UNDER_INVESTED"
    )
    out["value_sources"] = {v["id"]: evidence(v["id"])[0] for v in model["value_sources"]}
    facts = {
        "external": out["external"]["attained"],
        "internal": out["internal"]["attained"],
        "proposition": p,
        "social_native": out["social_native"],
    }

    def matches(cond):
        return all([
            facts["external"] >= cond.get("min_external_stage", 0),
            facts["external"] <= cond.get("max_external_stage", 4),
            facts["internal"] >= cond.get("min_internal_stage", 0),
            facts["internal"] <= cond.get("max_internal_stage", 4),
            facts["proposition"] >= cond.get("min_proposition", 0),
            facts["proposition"] <= cond.get("max_proposition", 100),
            cond.get("social_native", facts["social_native"]) == facts["social_native"],
        ])

    def first(rules_list):
        return next(r["id"] for r in rules_list if any(matches(c) for c in r["when_any"]))

    out["archetype"] = first(model["archetypes"])
    out["altimeter"] = first(model["crosswalks"]["altimeter"])
    out["forrester"] = next(
        f["id"] for f in model["crosswalks"]["forrester"] if f["internal_stage"] == facts["internal"]
    )
    return out


def check_openmetrics(call, admin_base):
    """A call with a W3C trace context, then `/metrics` in OpenMetrics, read by a stock parser."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    call("ListModels", metadata=(("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"),))
    request = urllib.request.Request(f"{admin_base}/metrics",
                                     headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        content_type = reply.headers.get("Content-Type", "")
        text = reply.read().decode()
    check("/metrics answers OpenMetrics when asked", content_type.startswith("application/openmetrics-text"), content_type)
    try:
        families = {f.name: f for f in text_string_to_metric_families(text)}
    except Exception as e:  # the parser's own error says what is wrong
        check("/metrics parses as OpenMetrics", False, e)
        return
    check("/metrics parses as OpenMetrics", True)
    handled = families.get("grpc_server_handled")
    check("grpc_server_handled is a counter", handled is not None and handled.type == "counter", handled)
    latency = families.get("grpc_server_handling_seconds")
    samples = [s for s in (latency.samples if latency else [])
               if s.labels.get("grpc_method") == "ListModels" and s.name.endswith("_bucket")]
    traced = [s for s in samples if s.exemplar is not None]
    check("the ListModels latency bucket carries the call's trace id as its exemplar",
          any(s.exemplar.labels.get("trace_id") == trace_id for s in traced), [s.exemplar for s in traced])
    # A scraper that does not ask for OpenMetrics gets the Prometheus text format, the same samples.
    with urllib.request.urlopen(f"{admin_base}/metrics", timeout=30) as reply:
        content_type = reply.headers.get("Content-Type", "")
        plain = reply.read().decode()
    try:
        names = {f.name for f in prometheus_text_families(plain)}
    except Exception as e:
        names = {repr(e)}
    check("/metrics without Accept parses as the Prometheus text format",
          content_type.startswith("text/plain; version=0.0.4") and {"grpc_server_handled", "grpc_server_handling_seconds"} <= names,
          (content_type, sorted(names)[:8]))


def main():
    binary, model_file = sys.argv[1], sys.argv[2]
    with open(model_file, "rb") as f:
        model_def = tomllib.load(f)
    scratch = tempfile.mkdtemp(prefix="stock-client-")
    server = subprocess.Popen(
        [binary, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
         "--log-level", "warn",
         "--database-url", f"sqlite://{scratch}/m.db?mode=rwc", "--pseudonym-key-file", f"{scratch}/key"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline()
        addr = line.strip().rsplit(" ", 1)[-1]
        http_line = server.stdout.readline()
        http_base = http_line.split("listening on ", 1)[1].split()[0]
        admin_line = server.stdout.readline()
        admin_base = admin_line.split("operators' port on ", 1)[1].split()[0]

        # The OpenAPI document, validated by a maintained validator against the 3.1 schema.
        with urllib.request.urlopen(f"{http_base}/openapi.json", timeout=30) as reply:
            spec = json.load(reply)
        errors = [str(e).splitlines()[0] for e in OpenAPIV31SpecValidator(spec).iter_errors()]
        check("the OpenAPI document validates against the OpenAPI 3.1 schema", spec.get("openapi", "").startswith("3.1") and not errors, errors[:5])

        channel = grpc.insecure_channel(addr)
        grpc.channel_ready_future(channel).result(timeout=30)

        db = ProtoReflectionDescriptorDatabase(channel)
        services = set(db.get_services())
        check("reflection lists maturity.v1.ScoringService", "maturity.v1.ScoringService" in services, services)
        pool = descriptor_pool.DescriptorPool(db)
        svc = pool.FindServiceByName("maturity.v1.ScoringService")

        def call(method, metadata=None, **fields):
            m = svc.methods_by_name[method]
            req_cls = message_factory.GetMessageClass(m.input_type)
            resp_cls = message_factory.GetMessageClass(m.output_type)
            stub = channel.unary_unary(
                f"/maturity.v1.ScoringService/{method}",
                request_serializer=lambda r: r.SerializeToString(),
                response_deserializer=resp_cls.FromString,
            )
            return stub(json_format.ParseDict(fields, req_cls()), timeout=10, metadata=metadata)

        nl = call("GetModel", locale="nl")
        en = call("GetModel", locale="en")
        check("GetModel in Dutch and English", nl.locale == "nl" and en.locale == "en"
              and len(nl.items) == len(en.items) == len(model_def["items"])
              and nl.items[0].text != en.items[0].text, (nl.locale, en.locale, len(nl.items)))

        # A deterministic profile over every item: various points, some "don't know".
        answers, wire = [], []
        for i, item in enumerate(en.items):
            scale = item.scale
            point = scale.points[(i * 7) % len(scale.points)]
            if i % 9 == 4:
                answers.append((item.id, "dont_know", True))
                wire.append({"itemId": item.id, "dontKnow": True})
            elif scale.kind == 1:
                answers.append((item.id, "likert", int(point.value)))
                wire.append({"itemId": item.id, "likert": int(point.value)})
            elif scale.kind == 2:
                answers.append((item.id, "yes", point.value == "yes"))
                wire.append({"itemId": item.id, "yes": point.value == "yes"})
            else:
                answers.append((item.id, "choice", point.value))
                wire.append({"itemId": item.id, "choice": point.value})
        firm = {"sbiSection": "M", "sizeClass": "medium", "province": "NL-NB"}
        scored = call("ScoreAssessment", firm=firm, answers=wire, locale="en")
        result = scored.result

        # An under-invested firm (a proposition resting on social media, every practice at the
        # bottom of its scale) gets actions; each action's changes, sent to WhatIf with the same
        # assessment, give its stated result.
        lagging = []
        for item in en.items:
            points = item.scale.points
            point = points[-1] if any(e.target == "proposition" for e in item.evidence) else points[0]
            if item.scale.kind == 1:
                lagging.append({"itemId": item.id, "likert": int(point.value)})
            elif item.scale.kind == 2:
                lagging.append({"itemId": item.id, "yes": point.value == "yes"})
            else:
                lagging.append({"itemId": item.id, "choice": point.value})
        behind = call("ScoreAssessment", firm=firm, answers=lagging, locale="en")
        same = []
        for action in behind.actions:
            changes = [json_format.MessageToDict(c) for c in action.changes]
            reply = call("WhatIf", assessment={"firm": firm, "answers": lagging, "locale": "en"}, changes=changes)
            same.append(reply.before == behind.result and reply.after == action.after
                        and bool(action.practice) and bool(action.measure))
        check("ScoreAssessment's actions, sent to WhatIf, give their stated results",
              1 <= len(same) <= 3 and all(same), [a.practice_id for a in behind.actions])
        exp = expected_result(model_def, answers)

        check("result names model and version", result.model.id == model_def["model"]["id"]
              and result.model.version == model_def["model"]["version"])
        for axis in ("external", "internal"):
            got = getattr(result, axis)
            caps = [s.capability for s in got.stages]
            check(f"{axis} capabilities", all(close(a, b) for a, b in zip(caps, exp[axis]["caps"])), (caps, exp[axis]["caps"]))
            check(f"{axis} index", close(got.index, exp[axis]["index"]), (got.index, exp[axis]["index"]))
            check(f"{axis} attained stage", got.attained_stage == exp[axis]["attained"], (got.attained_stage, exp[axis]["attained"]))
        check("maturity index", close(result.maturity_index, exp["maturity"]), (result.maturity_index, exp["maturity"]))
        check("proposition centrality", close(result.proposition.centrality, exp["proposition"]))
        check("fit target and gap", close(result.fit.target, exp["target"]) and close(result.fit.gap, exp["gap"]))
        verdict_name = en.DESCRIPTOR.file.pool.FindEnumTypeByName("maturity.v1.FitVerdict").values_by_number[result.fit.verdict].name
        check("fit verdict", verdict_name == exp["verdict"], (verdict_name, exp["verdict"]))
        for v in result.value_sources:
            e = exp["value_sources"][v.id]
            ok = (e is None and not v.HasField("score")) or (e is not None and close(v.score, e))
            check(f"value source {v.id}", ok, (v.score, e))
        check("archetype", result.archetype.id == exp["archetype"], (result.archetype.id, exp["archetype"]))
        check("Forrester crosswalk", result.forrester.id == exp["forrester"], (result.forrester.id, exp["forrester"]))
        check("Altimeter crosswalk", result.altimeter.id == exp["altimeter"], (result.altimeter.id, exp["altimeter"]))

        try:
            call("ScoreAssessment", firm={"sbiSection": "Z"}, answers=[{"itemId": "nope", "likert": 3}])
            check("bad input is refused", False, "no error")
        except grpc.RpcError as e:
            check("bad input is INVALID_ARGUMENT", e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code())

        check_openmetrics(call, admin_base)
    finally:
        server.terminate()
        code = server.wait(timeout=30)
        check("server exits 0 on SIGTERM", code == 0, code)

    print(f"stock client: {len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
