"""Every status the service can answer is documented on the operations that can answer
it, with the error codes of that status (the drift schemathesis found: 404 on a template
save, 401 on device registration, statuses documented nowhere)."""

from __future__ import annotations

from typing import Any

import pytest

from passmint.app import create_app
from passmint.config import Settings
from passmint.errors import PassmintError
from passmint.web.openapi_errors import WHY, error_codes


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("openapi"), secret_key="o" * 43)
    document: dict[str, Any] = create_app(settings, worker=False).openapi()
    return document


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_every_status_a_domain_error_has_is_one_the_document_explains() -> None:
    # 500: the backup CLI's own failures, never an HTTP answer
    statuses = {cls.status for cls in _all(PassmintError)} - {500}
    assert statuses <= set(WHY), statuses - set(WHY)
    codes = error_codes()
    assert "invalid_text" in codes[400]
    assert "rate_limited" in codes[429]
    assert "database_unavailable" in codes[503]


def _all(cls: type[PassmintError]) -> set[type[PassmintError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all(sub)
    return found


def test_every_api_operation_documents_its_error_statuses(schema: dict[str, Any]) -> None:
    api = [op for op in _operations(schema) if op[0].startswith("/api/v1/")]
    assert len(api) >= 40
    for path, method, operation in api:
        documented = set(operation["responses"])
        where = f"{method.upper()} {path}"
        assert {"401", "403", "429", "503"} <= documented, where
        if operation.get("parameters") or "requestBody" in operation:
            assert {"400", "404", "422"} <= documented, where
        if "requestBody" in operation:
            assert "413" in documented, where
        if method in ("post", "put", "patch", "delete"):
            assert "409" in documented, where
        for status in documented - {"200", "201", "202", "204", "304"}:
            response = operation["responses"][status]
            assert "Error codes:" in response["description"], (where, status)
            assert response["content"]["application/json"]["schema"]["required"] == ["error"]


def test_the_device_and_callback_operations_document_theirs(schema: dict[str, Any]) -> None:
    register = schema["paths"][
        "/apple/v1/devices/{device_library_id}/registrations/{pass_type_id}/{serial}"
    ]["post"]
    assert {"200", "201", "400", "401", "413", "429", "503"} <= set(register["responses"])
    assert "pushToken" in str(register["requestBody"])
    updated = schema["paths"]["/apple/v1/devices/{device_library_id}/registrations/{pass_type_id}"]
    assert "204" in updated["get"]["responses"]
    assert "304" in schema["paths"]["/apple/v1/passes/{pass_type_id}/{serial}"]["get"]["responses"]
    callback = schema["paths"]["/google/callbacks"]["post"]
    assert {"400", "413", "429", "502"} <= set(callback["responses"])


def test_the_codes_of_operator_tools_are_not_documented_for_requests() -> None:
    """``passmint serve`` imports the CLI, and with it the backup errors: no request can
    meet those, so the document lists them nowhere."""
    import passmint.cli.app  # noqa: F401
    from passmint.ops import backup

    assert issubclass(backup.DatabaseNotEmpty, PassmintError)
    documented = {code for codes in error_codes().values() for code in codes}
    for error in _all(backup.BackupError):
        assert error.code not in documented, error.code
    assert "idempotency_key_reused" in documented


def test_throttled_and_unavailable_answers_document_retry_after(schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(schema):
        if not isinstance(operation, dict) or "responses" not in operation:
            continue
        for status in ("429", "503"):
            response = operation["responses"].get(status)
            if response is not None:
                assert "Retry-After" in response["headers"], (method, path, status)
    upload = schema["paths"]["/api/v1/images"]["post"]["responses"]["413"]["description"]
    assert upload.count("body_too_large") == 1, upload
