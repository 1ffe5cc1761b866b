"""Hostile GraphQL documents against a running server, with and without a
token, on /graphql and /metadata: recursive fragments, fragments that
double at each level, long fragment chains, deep selections, deep literal
and variable inputs, and wide documents of many aliases. Each must be
answered (any status but 5xx, any error code but INTERNAL) on a connection
that holds, and the server must still answer /healthz afterwards.

    python3 hostile.py BASE_URL TOKEN [--count N] [--seconds S] [--seed K]

Standard library only; the request count and the time are both bounded.
Prints "N passed, N failed" at the end and exits non-zero on any failure.
"""

import argparse
import http.client
import json
import random
import sys
import time
import urllib.parse

ROOTS = {"graphql": ("Query", "companies", "Company"), "metadata": ("MetaQuery", "objects", "ObjectMetadata")}


def recursive_fragments(rng, endpoint):
    root = ROOTS[endpoint][0]
    n = rng.randint(1, 6)
    names = [f"R{i}" for i in range(n)]
    frags = " ".join(f"fragment {names[i]} on {root} {{ __typename ...{names[(i + 1) % n]} }}" for i in range(n))
    return f"{{ ...{names[0]} }} {frags}", None


def doubling_fragments(rng, endpoint):
    root = ROOTS[endpoint][0]
    levels = rng.randint(12, 40)
    parts = [f"fragment F0 on {root} {{ __typename }}"]
    parts += [f"fragment F{i} on {root} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"{{ ...F{levels} }} " + " ".join(parts), None


def fragment_chain(rng, endpoint):
    root = ROOTS[endpoint][0]
    n = rng.randint(1_000, 20_000)
    parts = [f"fragment C{i} on {root} {{ ...C{i + 1} }}" for i in range(n)]
    parts.append(f"fragment C{n} on {root} {{ __typename }}")
    return "{ ...C0 } " + " ".join(parts), None


def deep_selection(rng, endpoint):
    field = ROOTS[endpoint][1]
    n = rng.choice([13, 65, 500, 5_000, 50_000])
    return "{ " + f"{field} {{ " * n + "__typename" + " }" * n + " }", None


def deep_literal(rng, endpoint):
    n = rng.choice([33, 200, 3_000, 100_000])
    shape = rng.choice(["list", "object", "and"])
    if shape == "list":
        value = "[" * n + "1" + "]" * n
    elif shape == "object":
        value = "{a: " * n + "1" + "}" * n
    else:
        value = "{ and: [" * n + "{}" + "] }" * n
    if endpoint == "graphql":
        return f"{{ companies(filter: {{ name: {{ in: {value} }} }}) {{ totalCount }} }}" if shape == "list" else f"{{ companies(filter: {value}) {{ totalCount }} }}", None
    return f"mutation {{ createObject(schema: {value}) {{ name }} }}", None


def deep_variables(rng, endpoint):
    n = rng.choice([33, 129, 1_000, 50_000])
    value = "[" * n + "1" + "]" * n
    if endpoint == "graphql":
        return "query($f: CompanyFilter) { companies(filter: $f) { totalCount } }", '{"f": {"name": {"in": ' + value + "}}}"
    return "mutation($s: JSON!) { createObject(schema: $s) { name } }", '{"s": ' + value + "}"


def wide(rng, endpoint):
    field = ROOTS[endpoint][1]
    n = rng.choice([100, 1_000, 10_000])
    inner = "nodes { id name }" if endpoint == "graphql" else "fields { name }"
    page = "(first: 500)" if endpoint == "graphql" else "(includeSystem: true)"
    return "{ " + " ".join(f"a{i}: {field}{page} {{ {inner} }}" for i in range(n)) + " }", None


SHAPES = [recursive_fragments, doubling_fragments, fragment_chain, deep_selection, deep_literal, deep_variables, wide]


def post(base, path, token, query, variables):
    body = '{"query": ' + json.dumps(query) + (', "variables": ' + variables if variables else "") + "}"
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def alive(base):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("token")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(f"hostile documents, seed {args.seed}")
    passed = failed = 0
    deadline = time.monotonic() + args.seconds
    for i in range(args.count):
        if time.monotonic() > deadline:
            break
        shape = SHAPES[i % len(SHAPES)]
        endpoint = rng.choice(["graphql", "metadata"])
        token = rng.choice([args.token, args.token, None])
        query, variables = shape(rng, endpoint)
        what = f"{shape.__name__} on /{endpoint} {'with' if token else 'without'} a token ({len(query)} bytes)"
        try:
            status, body = post(args.base, f"/{endpoint}", token, query, variables)
        except OSError as e:
            failed += 1
            print(f"FAIL {what}: the connection dropped: {e}")
            if not alive(args.base):
                print("FAIL: the server is down")
                break
            continue
        problem = None
        if status >= 500:
            problem = f"HTTP {status}"
        elif b'"INTERNAL"' in body:
            problem = "an INTERNAL error"
        elif status not in (200, 400, 401, 413, 429):
            problem = f"HTTP {status}"
        elif status == 200 and b'"errors"' not in body and shape is not recursive_fragments:
            # Only a cycle-free, cheap document may be answered with data.
            problem = None if len(body) < 2_000_000 else f"a {len(body)}-byte answer"
        elif status == 200 and shape is recursive_fragments and b'"errors"' not in body:
            problem = "a fragment cycle was answered"
        if problem:
            failed += 1
            print(f"FAIL {what}: {problem}: {body[:300]!r}")
        else:
            passed += 1
    if not alive(args.base):
        print("FAIL: the server does not answer /healthz")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
