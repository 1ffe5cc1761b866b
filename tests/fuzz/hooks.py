"""Schemathesis hooks for fuzzing Rapport's GraphQL APIs (see tests/fuzz/run.sh).

Teaches the fuzzer Rapport's custom scalars, and checks the error contract:
an unexpected failure answers HTTP 200 with code INTERNAL, which a status
check alone would miss.
"""

import graphql
import schemathesis
from hypothesis import strategies as st
from hypothesis_graphql import nodes

schemathesis.graphql.scalar(
    "Date", st.dates().map(lambda d: nodes.String(d.isoformat()))
)
schemathesis.graphql.scalar(
    "DateTime",
    st.datetimes().map(lambda d: nodes.String(d.isoformat() + "Z"))
    | st.text(max_size=30).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Decimal",
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(nodes.String)
    | st.text(max_size=20).map(nodes.String),
)


def _field(pair):
    key, value = pair
    return graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=value)


_json_leaf = st.one_of(
    st.text(max_size=20).map(nodes.String),
    st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
    st.booleans().map(nodes.Boolean),
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4).map(nodes.List)
    | st.lists(
        st.tuples(st.from_regex(r"\A[a-zA-Z_][a-zA-Z0-9_]{0,8}\Z"), inner),
        max_size=4,
        unique_by=lambda p: p[0],
    ).map(lambda pairs: nodes.Object([_field(p) for p in pairs])),
    max_leaves=8,
)
schemathesis.graphql.scalar("JSON", _json)


# The error codes of ../shared/spec/API.md, INTERNAL aside. Schemathesis's own
# `not_a_server_error` counts any resolver error (NOT_FOUND, CONFLICT…) as a
# server failure, so the contract is checked here instead.
CONTRACT_CODES = {
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "QUERY_TOO_COMPLEX",
    "RATE_LIMITED",
}


@schemathesis.check
def rapport_contract(ctx, response, case):
    """No 5xx, a JSON body, and every error with a contract code, never INTERNAL."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
    except Exception:
        raise AssertionError(f"response is not JSON: {response.text[:300]}")
    for error in (body or {}).get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code not in CONTRACT_CODES:
            raise AssertionError(f"error code {code!r} is not a contract code: {error}")
