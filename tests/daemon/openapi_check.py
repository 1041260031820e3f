#!/usr/bin/env python3
"""openapi_check.py: checks docs/openapi.yaml against ttaid.

    openapi_check.py SPEC ROUTES [BASE_URL]

SPEC is docs/openapi.yaml; ROUTES a file of the daemon's route table as
routes_dump prints it ("METHOD PATTERN NAME" per line); BASE_URL a running
ttaid (http://127.0.0.1:PORT) with an empty data directory and no tokens.

Static checks: the spec's paths and methods are exactly the route table's,
each operationId is the route's name, every {parameter} of a path is
declared, every $ref resolves. Live checks (with BASE_URL): every
operation, called with its examples, answers a documented 2xx status whose
body matches the documented schema (no undocumented property either);
operations on a workflow or a schedule answer a documented 404 for an
unknown one;
operations with a body answer a documented 400 for malformed JSON; every
method a path does not document answers 405. Error bodies must match the
Error schema.

Python 3 without PyYAML (a fresh Debian 12 has none), so the spec is read
by the small parser below: the subset of YAML that docs/openapi.yaml keeps
to (its header says which).
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

# ---- A YAML subset ----------------------------------------------------------------


class YamlError(Exception):
    pass


def _scalar(text, lineno):
    text = text.strip()
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            raise YamlError(f"line {lineno}: bad double-quoted scalar {text!r}")
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise YamlError(f"line {lineno}: bad single-quoted scalar {text!r}")
        return text[1:-1].replace("''", "'")
    if text.startswith("{") or text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            pass
        if text.startswith("[") and text.endswith("]"):
            inner = text[1:-1].strip()
            if any(c in inner for c in "[]{}"):
                raise YamlError(f"line {lineno}: nested flow list {text!r}")
            return [_scalar(item, lineno) for item in inner.split(",")] if inner else []
        raise YamlError(f"line {lineno}: flow mappings must be JSON: {text!r}")
    if " #" in text:
        text = text[: text.index(" #")].rstrip()
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~", ""):
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"-?[0-9]+\.[0-9]+", text):
        return float(text)
    if text[0] in "`@|>%&*!":
        raise YamlError(f"line {lineno}: a plain scalar cannot start with {text[0]!r}")
    return text


def _split_key(body, lineno):
    """'key: rest' -> (key, rest); None when body is not a mapping entry."""
    if body.startswith(("'", '"')):
        q = body[0]
        end = body.find(q, 1)
        if end < 0 or not body[end + 1:].startswith(":"):
            return None
        return body[1:end], body[end + 2:].strip()
    if body.startswith(("{", "[")):
        return None
    m = re.match(r"^([^:#]+?):(?: (.*)|)$", body)
    if not m:
        return None
    return m.group(1), (m.group(2) or "").strip()


class _Parser:
    def __init__(self, text):
        self.lines = text.split("\n")
        self.i = 0

    def _skip(self):
        while self.i < len(self.lines):
            s = self.lines[self.i]
            if s.strip() == "" or s.lstrip().startswith("#"):
                self.i += 1
            else:
                return

    def _indent(self):
        self._skip()
        if self.i >= len(self.lines):
            return -1
        s = self.lines[self.i]
        if "\t" in s[: len(s) - len(s.lstrip())]:
            raise YamlError(f"line {self.i + 1}: tab in indentation")
        return len(s) - len(s.lstrip(" "))

    def node(self, indent):
        body = self.lines[self.i].strip()
        if body == "-" or body.startswith("- "):
            return self.seq(indent)
        return self.mapping(indent)

    def mapping(self, indent):
        out = {}
        while self._indent() == indent:
            body = self.lines[self.i].strip()
            kv = _split_key(body, self.i + 1)
            if kv is None:
                raise YamlError(f"line {self.i + 1}: expected 'key: value', got {body!r}")
            key, rest = kv
            if key in out:
                raise YamlError(f"line {self.i + 1}: duplicate key {key!r}")
            self.i += 1
            out[key] = self.value(rest, indent)
        if self._indent() > indent:
            raise YamlError(f"line {self.i + 1}: unexpected indentation")
        return out

    def value(self, rest, indent):
        lineno = self.i
        if rest == "":
            inner = self._indent()
            return self.node(inner) if inner > indent else None
        if rest in (">", ">-", "|", "|-"):
            return self.block(rest, indent)
        return _scalar(rest, lineno)

    def block(self, style, indent):
        raw = []
        while self.i < len(self.lines):
            s = self.lines[self.i]
            if s.strip() != "" and len(s) - len(s.lstrip(" ")) <= indent:
                break
            raw.append(s)
            self.i += 1
        while raw and raw[-1].strip() == "":
            raw.pop()
        if not raw:
            return ""
        cut = min(len(s) - len(s.lstrip(" ")) for s in raw if s.strip())
        lines = [s[cut:] if s.strip() else "" for s in raw]
        if style.startswith("|"):
            text = "\n".join(lines)
        else:
            paragraphs, cur = [], []
            for s in lines:
                if s == "":
                    paragraphs.append(" ".join(cur))
                    cur = []
                else:
                    cur.append(s)
            paragraphs.append(" ".join(cur))
            text = "\n".join(paragraphs)
        return text if style.endswith("-") else text + "\n"

    def seq(self, indent):
        out = []
        while self._indent() == indent:
            body = self.lines[self.i].strip()
            if not (body == "-" or body.startswith("- ")):
                break
            item = body[1:].strip()
            if item == "":
                self.i += 1
                inner = self._indent()
                out.append(self.node(inner) if inner > indent else None)
            elif _split_key(item, self.i + 1) is not None:
                # "- key: value": a mapping whose keys sit two columns in.
                self.lines[self.i] = " " * (indent + 2) + item
                out.append(self.mapping(indent + 2))
            else:
                self.i += 1
                out.append(_scalar(item, self.i))
        return out


def load_yaml(text):
    p = _Parser(text)
    if p._indent() != 0:
        raise YamlError("the document must start at column 0")
    doc = p.node(0)
    if p._indent() != -1:
        raise YamlError(f"line {p.i + 1}: text after the document")
    return doc


# ---- The spec ------------------------------------------------------------------------

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def ok(msg):
    print("ok: " + msg)


class Spec:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise KeyError(ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            seen += 1
            if seen > 20:
                raise KeyError(f"{ref}: a loop")
        return node

    def operations(self):
        for path, item in self.doc["paths"].items():
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]

    def params(self, path, op):
        out = {}
        for p in self.doc["paths"][path].get("parameters", []) + op.get("parameters", []):
            p = self.resolve(p)
            out[(p["name"], p["in"])] = p
        return out


def check_refs(spec, node, where):
    if isinstance(node, dict):
        if "$ref" in node:
            try:
                spec.resolve(node)
            except (KeyError, TypeError) as e:
                fail(f"{where}: $ref {node['$ref']} does not resolve ({e})")
        for k, v in node.items():
            check_refs(spec, v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_refs(spec, v, f"{where}/{i}")


def check_static(spec, routes):
    doc = spec.doc
    if not str(doc.get("openapi", "")).startswith("3.0"):
        fail("openapi: not a 3.0 document")
    check_refs(spec, doc, "#")
    spec_ops = {}
    for path, method, op in spec.operations():
        key = (method.upper(), path)
        spec_ops[key] = op
        if "operationId" not in op:
            fail(f"{method.upper()} {path}: no operationId")
        if not op.get("responses"):
            fail(f"{method.upper()} {path}: no responses")
        declared = {name for (name, where) in spec.params(path, op) if where == "path"}
        for name in re.findall(r"\{([^}]+)\}", path):
            if name not in declared:
                fail(f"{method.upper()} {path}: path parameter {{{name}}} is not declared")
        for name in declared - set(re.findall(r"\{([^}]+)\}", path)):
            fail(f"{method.upper()} {path}: declares path parameter {name!r} the path lacks")
    ids = [op.get("operationId") for op in spec_ops.values()]
    if len(set(ids)) != len(ids):
        fail("operationIds are not unique")
    for (method, path), name in routes.items():
        op = spec_ops.get((method, path))
        if op is None:
            fail(f"the daemon serves {method} {path} ({name}); docs/openapi.yaml does not describe it")
        elif op.get("operationId") != name:
            fail(f"{method} {path}: operationId {op.get('operationId')!r}, the route's name is {name!r}")
        else:
            ok(f"route {method} {path} is described ({name})")
    for key in spec_ops:
        if key not in routes:
            fail(f"docs/openapi.yaml describes {key[0]} {key[1]}; the daemon's route table has no such route")
    return spec_ops


# ---- Schemas -------------------------------------------------------------------------


def validate(spec, schema, value, where, errors):
    """A JSON Schema subset (what docs/openapi.yaml uses); objects that list
    properties may not carry others, so an answer cannot hold an
    undocumented field."""
    schema = spec.resolve(schema)
    if value is None:
        if not schema.get("nullable", False) and ("type" in schema or "allOf" in schema or "oneOf" in schema):
            errors.append(f"{where}: null where a non-nullable value is documented")
        return
    if "allOf" in schema:
        for sub in schema["allOf"]:
            validate(spec, sub, value, where, errors)
        return
    if "oneOf" in schema:
        matched = 0
        for sub in schema["oneOf"]:
            sub_errors = []
            validate(spec, sub, value, where, sub_errors)
            matched += not sub_errors
        if matched != 1:
            errors.append(f"{where}: matches {matched} of the oneOf schemas, not 1")
        return
    t = schema.get("type")
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t in kinds and not isinstance(value, kinds[t]):
        errors.append(f"{where}: {value!r} is not of type {t}")
        return
    if t == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        errors.append(f"{where}: {value!r} is not an integer")
        return
    if t == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        errors.append(f"{where}: {value!r} is not a number")
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{where}: {value!r} is below {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{where}: {value!r} is above {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{where}: {value!r} has a length out of the documented bounds")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: required property {name!r} is missing")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            errors.append(f"{where}: more than {schema['maxProperties']} properties")
        for name, v in value.items():
            if name in props:
                validate(spec, props[name], v, f"{where}.{name}", errors)
            elif props and schema.get("additionalProperties") is not True:
                errors.append(f"{where}: property {name!r} is not documented")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            validate(spec, schema["items"], v, f"{where}[{i}]", errors)


# ---- Live checks -----------------------------------------------------------------------


def http(base, method, path, body=None):
    data = body.encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def check_answer(spec, op, label, status, ctype, text, want_class):
    responses = op["responses"]
    if str(status) not in responses:
        fail(f"{label}: answered {status}, which is not documented ({', '.join(responses)})")
        return
    if status // 100 != want_class:
        fail(f"{label}: answered {status}, expected a {want_class}xx: {text[:200]}")
        return
    resp = spec.resolve(responses[str(status)])
    media = ctype.split(";")[0].strip()
    content = resp.get("content", {})
    if media not in content:
        fail(f"{label}: answered {media!r}, documented {list(content)}")
        return
    schema = content[media].get("schema", {})
    if media == "application/json":
        try:
            value = json.loads(text)
        except ValueError:
            fail(f"{label}: the body is not JSON: {text[:200]}")
            return
    else:
        value = text
    errors = []
    validate(spec, schema, value, "body", errors)
    for e in errors:
        fail(f"{label} ({status}): {e}")
    if not errors:
        ok(f"{label}: {status} {media} as documented")


def fill_path(spec, path, op, workflow_id, schedule_id=None):
    params = spec.params(path, op)

    def repl(m):
        name = m.group(1)
        if name == "workflow_id":
            return workflow_id
        if name == "schedule_id" and schedule_id is not None:
            return schedule_id
        p = params[(name, "path")]
        if "example" not in p:
            raise KeyError(f"path parameter {name} has no example")
        return urllib.request.quote(str(p["example"]), safe="")

    return re.sub(r"\{([^}]+)\}", repl, path)


def body_example(spec, op):
    rb = spec.resolve(op.get("requestBody", {})) if "requestBody" in op else None
    if rb is None:
        return None
    media = rb.get("content", {}).get("application/json", {})
    if "example" not in media:
        fail("a request body without an example")
        return "{}"
    return json.dumps(media["example"])


def check_live(spec, base):
    ns = spec.doc["components"]["parameters"]["ns"]["example"]
    counter = 0

    def fresh_counter():
        nonlocal counter
        counter += 1
        wid = f"openapi-{os.getpid()}-{counter}"
        st, _, text = http(base, "POST", f"/api/v1/namespaces/{ns}/workflows",
                           json.dumps({"type": "counter", "id": wid, "input": {}}))
        if st != 201:
            fail(f"cannot start a counter for the checks: {st} {text}")
        return wid

    used = {}
    for path, method, op in spec.operations():
        label = f"{method.upper()} {path}"
        # With its examples (a workflow of its own where the path names one).
        wid = fresh_counter() if "{workflow_id}" in path else None
        used[op["operationId"]] = wid
        url = fill_path(spec, path, op, wid)
        st, ctype, text = http(base, method.upper(), url, body_example(spec, op))
        if op["operationId"] == "schedule_trigger" and st == 409:
            # A run of this second exists (an earlier pass of this check on
            # the same daemon triggered in this second): as documented,
            # trigger again in the next second.
            check_answer(spec, op, label + " (same second)", st, ctype, text, 4)
            time.sleep(1.01 - time.time() % 1)
            st, ctype, text = http(base, method.upper(), url, body_example(spec, op))
        check_answer(spec, op, label, st, ctype, text, 2)
        # An unknown workflow (signal-with-start starts it: nothing to refuse).
        if wid is not None and op["operationId"] != "signal_with_start":
            url = fill_path(spec, path, op, "openapi-nobody")
            st, ctype, text = http(base, method.upper(), url, body_example(spec, op))
            if st != 404:
                fail(f"{label} on an unknown workflow: {st}, expected 404")
            else:
                check_answer(spec, op, label + " (unknown workflow)", st, ctype, text, 4)
        # An unknown schedule.
        if "{schedule_id}" in path:
            url = fill_path(spec, path, op, None, "openapi-nobody")
            st, ctype, text = http(base, method.upper(), url, body_example(spec, op))
            if st != 404:
                fail(f"{label} on an unknown schedule: {st}, expected 404")
            else:
                check_answer(spec, op, label + " (unknown schedule)", st, ctype, text, 4)
        # Malformed JSON.
        if "requestBody" in op:
            url = fill_path(spec, path, op, fresh_counter() if wid else None)
            st, ctype, text = http(base, method.upper(), url, '{"type":')
            if st != 400:
                fail(f"{label} with malformed JSON: {st}, expected 400")
            else:
                check_answer(spec, op, label + " (malformed JSON)", st, ctype, text, 4)
    # The reads again. Workflows on closed runs: the example's hello
    # (completed, with an activity in its history) and the terminated
    # counter; the list now holds them all (the schedule's workflows too);
    # the history streamed. The schedule routes ran in the file's order,
    # delete last: the example's schedule is made again, so that the list
    # has one.
    start_path, start_op = next((p, o) for p, m, o in spec.operations() if o["operationId"] == "start")
    hello = json.loads(body_example(spec, start_op))["id"]
    st, _, text = http(base, "GET", f"/api/v1/namespaces/{ns}/workflows/{hello}/result?wait=1&timeout_ms=10000")
    if st != 200:
        fail(f"the example's workflow did not complete: {st} {text}")
    create_path, create_op = next((p, o) for p, m, o in spec.operations()
                                  if o["operationId"] == "schedule_create")
    st, _, text = http(base, "POST", fill_path(spec, create_path, create_op, None),
                       body_example(spec, create_op))
    if st != 201:
        fail(f"the example's schedule cannot be made again: {st} {text}")
    for path, method, op in spec.operations():
        if method != "get" or not path.startswith("/api/"):
            continue
        for wid in ([hello, used.get("terminate")] if "{workflow_id}" in path else [None]):
            url = fill_path(spec, path, op, wid)
            st, ctype, text = http(base, "GET", url)
            check_answer(spec, op, f"GET {url}", st, ctype, text, 2)
    # Gone again, so that the checker can run twice against one daemon.
    describe_path, describe_op = next((p, o) for p, m, o in spec.operations()
                                      if o["operationId"] == "schedule_describe")
    st, _, text = http(base, "DELETE", fill_path(spec, describe_path, describe_op, None))
    if st != 200:
        fail(f"the example's schedule cannot be deleted: {st} {text}")
    history_path, history_op = next((p, o) for p, m, o in spec.operations() if o["operationId"] == "history")
    st, ctype, text = http(base, "GET", fill_path(spec, history_path, history_op, hello) + "?follow=1")
    check_answer(spec, history_op, "GET .../history?follow=1", st, ctype, text, 2)
    events = [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: ")]
    errors = []
    for i, ev in enumerate(events):
        validate(spec, {"$ref": "#/components/schemas/Event"}, ev, f"event {i + 1}", errors)
    for e in errors:
        fail(f"history stream: {e}")
    if not events or events[-1].get("type") != "WorkflowCompleted":
        fail(f"history stream: {len(events)} events, not ending with WorkflowCompleted")
    elif not errors:
        ok(f"history stream: {len(events)} events as documented")
    # Methods a path does not document.
    error_schema = {"$ref": "#/components/schemas/Error"}
    for path, item in spec.doc["paths"].items():
        url = fill_path(spec, path, next(item[m] for m in METHODS if m in item), "openapi-any")
        for method in ("get", "post", "put", "delete", "patch"):
            if method in item:
                continue
            st, _, text = http(base, method.upper(), url, "{}" if method != "get" else None)
            errors = []
            if st == 405:
                validate(spec, error_schema, json.loads(text), "body", errors)
            if st != 405 or errors:
                fail(f"{method.upper()} {path}: {st} {text[:200]}, expected 405 with an error body")
            else:
                ok(f"{method.upper()} {path}: 405 (not documented, not served)")


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        try:
            doc = load_yaml(f.read())
        except YamlError as e:
            print(f"FAIL: {argv[1]}: {e}", file=sys.stderr)
            return 1
    routes = {}
    with open(argv[2]) as f:
        for line in f:
            if line.strip():
                method, pattern, name = line.split()
                routes[(method, pattern)] = name
    if not routes:
        fail("the route table is empty")
    spec = Spec(doc)
    check_static(spec, routes)
    if len(argv) == 4:
        check_live(spec, argv[3].rstrip("/"))
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("openapi: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
