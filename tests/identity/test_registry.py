"""Registry adapters and match rules: the HTTP adapter against a real loopback server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.identity.adapters import HttpRegistry
from shared.identity.catalog import catalog, identity_type
from shared.identity.errors import InvalidClaim, RegistryUnavailable, UnknownIdentityType
from shared.identity.models import RegistryRecord
from shared.identity.service import match

STUDENT = identity_type("student")
CLAIM = {"name": "Li Hua", "school": "Peking University", "student_number": "PKU2024001"}
RECORD = RegistryRecord(identity_type="student", status="ACTIVE", valid_until=date(2028, 7, 1),
                        fields={"name": "LI  HUA", "school": "peking university", "student_number": "PKU2024001"})
TODAY = date(2026, 11, 23)


def test_match_rules() -> None:
    assert match(STUDENT, CLAIM, RECORD, TODAY).model_dump() == {
        "matched": True, "reasons": ["REGISTRY_MATCH"], "valid_until": date(2028, 7, 1)}
    assert match(STUDENT, CLAIM, None, TODAY).reasons == ["REGISTRY_NO_RECORD"]
    wrong_name = match(STUDENT, {**CLAIM, "name": "Li Hui"}, RECORD, TODAY)
    assert not wrong_name.matched and wrong_name.reasons == ["REGISTRY_MISMATCH_NAME"]
    old = RECORD.model_copy(update={"status": "INACTIVE", "valid_until": date(2025, 7, 1)})
    assert match(STUDENT, CLAIM, old, TODAY).reasons == ["REGISTRY_RECORD_INACTIVE", "REGISTRY_RECORD_EXPIRED"]
    # Full-width characters normalise (NFKC) to the same name.
    assert match(STUDENT, {**CLAIM, "name": "\uff2c\uff49 \uff28\uff55\uff41"}, RECORD, TODAY).matched


def test_identity_types_are_configuration() -> None:
    assert set(catalog()) >= {"student", "teacher"}
    assert identity_type("teacher").credential_field == "teacher_number"
    with pytest.raises(UnknownIdentityType):
        identity_type("Student")
    with pytest.raises(InvalidClaim):
        STUDENT.validate_claimed({**CLAIM, "name": "a\x00b"})
    assert STUDENT.validate_claimed({**CLAIM, "name": "  Li Hua "})["name"] == "Li Hua"


class FakeRegistryServer:
    """A loopback HTTP registry whose answers the test scripts (status, body, delay)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any, float]] = []
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, body, delay = outer.script.pop(0) if outer.script else (500, {}, 0.0)
                time.sleep(delay)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def registry_server() -> Iterator[FakeRegistryServer]:
    server = FakeRegistryServer()
    yield server
    server.server.shutdown()


def _client(server: FakeRegistryServer, attempts: int = 2, timeout: float = 0.5) -> HttpRegistry:
    return HttpRegistry(server.url, timeout=timeout, attempts=attempts, backoff=0.01)


def test_http_registry_found_sends_only_the_key(registry_server: FakeRegistryServer) -> None:
    registry_server.script = [(200, json.loads(RECORD.model_dump_json()), 0.0)]
    assert _client(registry_server).lookup(STUDENT, CLAIM) == RECORD
    [sent] = registry_server.requests
    assert sent == {"registry": "education", "identity_type": "student",
                    "key": {"school": "Peking University", "student_number": "PKU2024001"}}  # no name sent


def test_http_registry_404_is_no_record(registry_server: FakeRegistryServer) -> None:
    registry_server.script = [(404, {"message": "not found"}, 0.0)]
    assert _client(registry_server).lookup(STUDENT, CLAIM) is None


def test_http_registry_retries_5xx_then_succeeds(registry_server: FakeRegistryServer) -> None:
    registry_server.script = [(503, {}, 0.0), (200, json.loads(RECORD.model_dump_json()), 0.0)]
    assert _client(registry_server).lookup(STUDENT, CLAIM) == RECORD
    assert len(registry_server.requests) == 2


@pytest.mark.parametrize("answer", [
    (500, {}, 0.0),
    (200, b"<html>oops</html>", 0.0),
    (200, {"identity_type": "student", "fields": {}, "status": "MAYBE", "valid_until": "2028-01-01"}, 0.0),
    (200, {**json.loads(RECORD.model_dump_json()), "extra": 1}, 0.0),
    (200, json.loads(RECORD.model_dump_json()), 1.0),  # slower than the timeout
])
def test_http_registry_bad_answers_are_unavailable_never_a_match(registry_server: FakeRegistryServer,
                                                                 answer: tuple[int, Any, float]) -> None:
    registry_server.script = [answer, answer]
    with pytest.raises(RegistryUnavailable):
        _client(registry_server).lookup(STUDENT, CLAIM)


def test_http_registry_record_of_another_type_is_a_mismatch_never_a_match(
        registry_server: FakeRegistryServer) -> None:
    """The registry's answer about the credential is evidence (the document checks report it); only the
    comparison decides, and it never matches another type."""
    teacher = RECORD.model_copy(update={"identity_type": "teacher"})
    registry_server.script = [(200, json.loads(teacher.model_dump_json()), 0.0)]
    record = _client(registry_server).lookup(STUDENT, CLAIM)
    assert record == teacher
    result = match(STUDENT, CLAIM, record, TODAY)
    assert not result.matched and result.reasons == ["REGISTRY_MISMATCH_IDENTITY_TYPE"]


def test_http_registry_client_errors_are_not_retried(registry_server: FakeRegistryServer) -> None:
    registry_server.script = [(400, {}, 0.0), (200, json.loads(RECORD.model_dump_json()), 0.0)]
    with pytest.raises(RegistryUnavailable):
        _client(registry_server).lookup(STUDENT, CLAIM)
    assert len(registry_server.requests) == 1


def test_http_registry_requires_https_outside_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        HttpRegistry("http://registry.example.com")
