"""The JSON API fuzzed against its own OpenAPI schema with schemathesis: the real app served by uvicorn on 127.0.0.1,
called with a logged-in API token. Bounded: at most MAX_EXAMPLES cases per operation and a TIME_LIMIT in all.
No answer may be a server error, and every answer (status code, content type, body) must be the one the schema
documents."""
from __future__ import annotations

import itertools
import time
import uuid

import pytest
import requests
import schemathesis   # a dev dependency (make install-dev): missing, this test fails rather than skips
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from service.app import create_app
from service.auth import new_api_token, token_hash
from web_support import OTHER, OWN, LiveServer, free_port, make_installation, observation

MAX_EXAMPLES = 30     # cases per operation
TIME_LIMIT = 150.0    # seconds for the whole run, whatever the number of operations
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def served(tmp_path):
    inst = make_installation(tmp_path)
    store = inst.store
    for n in range(3):   # something to find: submissions, items and flags of the reader's unit and another's
        store.add_submission(inst.users["staff1"], uuid.uuid4().hex,
                             observation(f"Người lao động phản ánh nợ lương lần {n}.", OWN, "staff1"))
        store.add_submission(inst.users["collab2"], uuid.uuid4().hex,
                             observation(f"Giáo viên phản ánh chậm trả lương lần {n}.", OTHER, "collab2"))
    store.upsert_flag({"key": "k1", "kind": "watch_term", "stream_id": None, "topic": "tien_luong", "score": 6.0,
                       "window_start": "2026-01-01T17:00:00+00:00", "window_end": "2026-01-02T17:00:00+00:00",
                       "count": 1, "baseline": 0.0, "reason": "Có 1 tin nhắc đến «nợ lương».", "item_ids": [1],
                       "evidence": {"units": {OWN: 1}, "timeline": [], "representative": [1]}})
    token = new_api_token()
    store.add_api_token(inst.users["staff1"], "schemathesis", token_hash(token))   # staff: submits and reviews
    app = create_app(inst.settings, start_worker=False)
    with LiveServer(app, free_port()) as live:
        yield live.url, {"Authorization": f"Bearer {token}"}


def test_the_api_answers_as_its_schema_says_and_never_with_a_server_error(served):
    base, headers = served
    schema_doc = requests.get(f"{base}/openapi.json", headers=headers, timeout=30)
    assert schema_doc.status_code == 200, schema_doc.text[:300]
    schema = schemathesis.openapi.from_dict(schema_doc.json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6, [op.label for op in operations]
    deadline = time.monotonic() + TIME_LIMIT
    failures: list[str] = []
    calls = 0
    with requests.Session() as session:
        # valid data first, then data the schema forbids (which must be refused with a documented 4xx, never a 500)
        for mode, operation in itertools.product((GenerationMode.POSITIVE, GenerationMode.NEGATIVE), operations):
            if time.monotonic() > deadline:
                failures.append(f"time limit reached before {operation.label} ({mode.value})")
                break

            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                nonlocal calls
                if time.monotonic() > deadline:
                    return
                calls += 1
                response = case.call(base_url=base, session=session, headers=headers, timeout=30)
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:   # collect every operation's failures, then fail once with all of them
                    failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")

            run()
    print(f"schemathesis: {calls} calls over {len(operations)} operations, {len(failures)} failures")
    assert calls >= len(operations) * 10, f"only {calls} calls were made"
    assert not failures, "\n\n".join(dict.fromkeys(failures))
