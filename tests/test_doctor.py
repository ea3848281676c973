"""``m2mdl doctor``: the checks against the sandbox, the exit codes, and the redacted report."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import responses

from m2mdl.api import M2MClient
from m2mdl.auth import Credentials, MemoryStore, StoredSession
from m2mdl.config import Settings
from m2mdl.http import make_session
from m2mdl.recorder import Recorder
from m2mdl.sandbox import Sandbox
from m2mdl.workflow.context import Context
from m2mdl.workflow.doctor import (
    FAIL,
    OK,
    SKIP,
    WARN,
    Check,
    Doctor,
    DoctorOptions,
    DoctorResult,
)
from m2mdl.workflow.plan import PlannedFile

from .cli_helpers import calls, env_for, run
from .reliability.helpers import cli_env, run_cli

SERVICE_CHECKS = [
    "login-token",
    "permissions",
    "notifications",
    "rate-limit-summary",
    "scene-search",
    "download-options",
]
#: base64 of '{"' : what a signature, a sandbox session key or a DDS token starts with.
_B64_JSON = re.compile(r"eyJ[A-Za-z0-9+/=_-]{8,}")


def _names(stdout: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^[✔✘!·] ([^:]+):", stdout, re.MULTILINE)]


def _assert_no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"secret {secret[:6]}... leaked into the report"
    assert not re.search(r"requestSignature=(?!\*\*\*)", text), "a URL signature leaked"
    assert not _B64_JSON.search(text), "a base64 JSON token (signature or key) leaked"


# --- the whole chain on the sandbox -----------------------------------------------------------


def test_sandbox_doctor_download_report_exits_0_without_secrets(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = run_cli(
        ["--sandbox", "doctor", "--download", "--report", str(report), "--out", str(tmp_path)],
        cli_env(),
        timeout=180,
    )
    assert result.code == 0, result.explain()
    names = _names(result.stdout)
    assert names[:6] == [
        "configuration",
        "credentials",
        "M2M API",
        "download host",
        "STAC API",
        "clock",
    ]
    assert names[6:] == [*SERVICE_CHECKS, "output directory", "download"]
    assert "✘" not in result.stdout and "\n! " not in result.stdout
    assert re.search(
        r"✔ download: \S+_ANG\.txt \(\d+ bytes\) matches its STAC SHA-512", result.stdout
    )
    text = report.read_text()
    _assert_no_secret(text, ["demo-token", "27100031", '"demo"'])
    assert not re.search(r"\bdemo\b", text)
    document = json.loads(text)
    assert document["exit_code"] == 0
    endpoints = [e.get("endpoint") for e in document["exchanges"]]
    for endpoint in [*SERVICE_CHECKS, "download-request", "download-order-remove"]:
        assert endpoint in endpoints
    # nothing of the test download is left behind
    assert not [p for p in tmp_path.iterdir() if p.name != "r.json"]


def test_report_masks_token_key_username_contact_id_and_signatures(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    result = run(
        ["doctor", "--download", "--report", str(report), "--out", str(tmp_path)],
        env_for(sandbox),
    )
    assert "download" in _names(result.stdout), result.stdout + result.stderr
    keys = list(sandbox.app.state.keys)
    assert keys, "the sandbox issued no session key"
    text = report.read_text()
    document = json.loads(text)
    signed = [
        e
        for e in document["exchanges"]
        if "requestSignature=" in str(e.get("request", {}).get("url"))
    ]
    assert signed, "the report holds no download request to the file host"
    login = next(e for e in document["exchanges"] if e.get("endpoint") == "login-token")
    assert login["request"]["body"] == {"username": "***", "token": "***"}
    assert login["response"]["body"]["data"] == "***"
    quota = next(e for e in document["exchanges"] if e.get("endpoint") == "rate-limit-summary")
    assert {
        e["limitType"]: e.get("username") or e.get("ipAddress")
        for e in quota["response"]["body"]["data"]["remainingLimits"]
    } == {"user": "***", "ip": "***"}
    _assert_no_secret(text, ["demo-token", "27100031", *keys])
    assert not re.search(r"\bdemo\b", text)
    for secret in ["demo-token", *keys]:
        assert secret not in result.stdout + result.stderr


def test_report_is_in_the_fixture_shape(sandbox: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run(["doctor", "--report", str(report), "--out", str(tmp_path)], env_for(sandbox))
    document = json.loads(report.read_text())
    assert "bug report" in document["attach"]
    search = next(e for e in document["exchanges"] if e.get("endpoint") == "scene-search")
    body = search["response"]["body"]
    assert set(body) >= {"requestId", "version", "data", "errorCode", "errorMessage"}
    assert body["data"]["recordsReturned"] == len(body["data"]["results"]) > 0
    assert search["fixture_name"].endswith("-scene-search.json")
    assert search["request"]["body"]["datasetName"] == "landsat_ot_c2_l2"
    assert search["request"]["headers"]["X-Auth-Token"] == "***"
    assert search["response"]["status"] == 200 and search["elapsed_ms"] >= 0


def test_not_logged_in_fails_credentials_and_skips_the_service(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = {"M2MDL_API_URL": sandbox.api_url, "M2MDL_STAC_URL": sandbox.stac_url}
    result = run(["doctor", "--out", str(tmp_path)], env)
    assert result.exit_code == 3, result.stdout
    assert "✘ credentials: not logged in" in result.stdout
    assert "  fix: run `m2mdl login`" in result.stdout
    for name in SERVICE_CHECKS:
        assert f"· {name}: skipped: no working login" in result.stdout
    assert not calls(sandbox, "login-token")


def test_rejected_token_fails_login_with_exit_3(sandbox: Sandbox, tmp_path: Path) -> None:
    env = env_for(sandbox, M2MDL_TOKEN="expired-token")
    result = run(["doctor", "--out", str(tmp_path)], env)
    assert result.exit_code == 3, result.stdout
    assert "✘ login-token: login-token: AUTH_INVALID" in result.stdout
    assert "tokens expire" in result.stdout
    assert "expired-token" not in result.stdout + result.stderr


def test_output_directory_that_is_a_file_fails_with_exit_1(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run(["doctor", "--out", str(not_a_dir)], env_for(sandbox))
    assert f"✘ output directory: {not_a_dir} is not a directory" in result.stdout
    assert "  fix: choose another --out" in result.stdout
    assert result.exit_code == 1


def test_bad_config_file_is_a_failed_check_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("workers = 'many'\n")
    result = run(["--config", str(config), "doctor", "--json"], {})
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["checks"][0]["name"] == "configuration"
    assert document["checks"][0]["status"] == FAIL
    assert "workers" in document["checks"][0]["detail"]


def test_json_lists_every_check(sandbox: Sandbox, tmp_path: Path) -> None:
    result = run(["doctor", "--json", "--out", str(tmp_path)], env_for(sandbox))
    document = json.loads(result.stdout)
    assert document["kind"] == "doctor" and document["exit_code"] == result.exit_code
    names = [c["name"] for c in document["checks"]]
    assert names[6:12] == SERVICE_CHECKS
    by_name = {c["name"]: c for c in document["checks"]}
    assert by_name["permissions"]["status"] == OK
    assert by_name["permissions"]["detail"] == "user, download, order"


# --- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("checks", "code"),
    [
        ([Check("a", OK, ""), Check("b", SKIP, "")], 0),
        ([Check("a", OK, ""), Check("b", WARN, "", "fix")], 1),
        ([Check("a", FAIL, "", "fix"), Check("b", OK, "")], 1),
        ([Check("a", WARN, ""), Check("b", FAIL, "", "f", 3), Check("c", FAIL, "", "f", 5)], 3),
        ([Check("a", FAIL, "", "f"), Check("b", FAIL, "", "f", 5)], 5),
    ],
)
def test_exit_code_is_0_1_or_the_first_documented_code(checks: list[Check], code: int) -> None:
    assert DoctorResult(checks).exit_code == code


API = "https://m2m.example/api/api/json/stable/"


def _doctor_with_client(tmp_path: Path) -> Doctor:
    store = MemoryStore()
    store.save(StoredSession(Credentials("alice", "alice-token"), "key-123"))
    ctx = Context(settings=Settings(api_url=API), store=store)
    doctor = Doctor(ctx, DoctorOptions(out_dir=tmp_path))
    doctor.session = store.load()
    doctor.client = M2MClient(API, make_session(), api_key="key-123")
    return doctor


def _envelope(data: Any) -> dict[str, Any]:
    return {
        "requestId": 1,
        "version": "stable",
        "data": data,
        "errorCode": None,
        "errorMessage": None,
    }


@responses.activate
def test_a_maintenance_notice_is_a_warning_with_a_fix(tmp_path: Path) -> None:
    # The sandbox's ServiceOptions.notice is not served by notifications in this tree yet,
    # so this single function is fed the notice through a mocked answer.
    notice = {
        "id": 47,
        "subject": "Scheduled Maintenance",
        "dateUpdated": "2026-11-30 09:00:00-05",
        "severityCode": "W",
        "severityText": "Warning",
        "messageContent": "M2M will be unavailable Dec 1 14:00-18:00 UTC.",
        "severityCssClass": "alert-warning",
    }
    responses.post(API + "notifications", json=_envelope([notice]))
    doctor = _doctor_with_client(tmp_path)
    check = doctor.check_notifications()
    assert check.status == WARN
    assert check.detail == "Scheduled Maintenance: M2M will be unavailable Dec 1 14:00-18:00 UTC."
    assert check.fix is not None and "maintenance" in check.fix
    assert json.loads(responses.calls[0].request.body or b"{}") == {"systemId": "M2M"}
    assert DoctorResult([Check("x", OK, ""), check]).exit_code == 1


@responses.activate
def test_informational_notices_are_fine(tmp_path: Path) -> None:
    info = {"id": 1, "subject": "Welcome", "severityCode": "I", "messageContent": "Hello."}
    responses.post(API + "notifications", json=_envelope([info]))
    check = _doctor_with_client(tmp_path).check_notifications()
    assert (check.status, check.detail) == (OK, "1 informational notice(s)")


@responses.activate
def test_an_exhausted_quota_fails(tmp_path: Path) -> None:
    limits = [
        {
            "limitType": "user",
            "username": "alice",
            "recentDownloadCount": 0,
            "pendingDownloadCount": 20000,
            "unattemptedDownloadCount": 19995,
        },
    ]
    responses.post(API + "rate-limit-summary", json=_envelope({"remainingLimits": limits}))
    check = _doctor_with_client(tmp_path).check_quota()
    assert check.status == FAIL
    assert check.detail == "lowest remaining limit: 0 (user recentDownloadCount)"
    assert check.fix is not None and "15 minutes" in check.fix


@responses.activate
def test_recorder_masks_dds_tokens_and_learns_the_session_key() -> None:
    dds = base64.b64encode(b'{"id":26107136,"contactId":676404}').decode()
    url = f"https://dds.cr.usgs.gov/download/{dds}"
    responses.post(API + "login-token", json=_envelope("fresh-session-key"))
    responses.post(
        API + "download-retrieve",
        json=_envelope({"available": [{"downloadId": 26107136, "url": url}], "note": "676404"}),
    )
    recorder = Recorder(secrets=["alice-token"])
    session = recorder.attach(make_session())
    session.post(API + "login-token", json={"username": "alice", "token": "alice-token"})
    session.post(
        API + "download-retrieve",
        json={"label": "x"},
        headers={"X-Auth-Token": "fresh-session-key"},
    )
    text = json.dumps(recorder.redacted())
    for secret in ["alice-token", "fresh-session-key", "alice", dds, "676404"]:
        assert secret not in text
    assert "https://dds.cr.usgs.gov/download/***" in text
    assert '"downloadId": 26107136' in text


STAC = "https://stac.example/stac-server"
PRODUCT = "LC09_L2SP_029030_20261129_20261129_02_T1"


def _planned_ang(tmp_path: Path, data: bytes) -> tuple[PlannedFile, Path]:
    name = f"{PRODUCT}_ANG.txt"
    path = tmp_path / name
    path.write_bytes(data)
    planned = PlannedFile(
        key=f"E1/{name}",
        scene_entity_id="E1",
        scene_display_id=PRODUCT,
        entity_id="E1-ANG",
        product_id="P1",
        product="ANG",
        file_name=name,
        size=len(data),
    )
    return planned, path


def _stac_doctor(tmp_path: Path) -> Doctor:
    ctx = Context(settings=Settings(api_url=API, stac_url=STAC), store=MemoryStore())
    return Doctor(ctx, DoctorOptions(out_dir=tmp_path))


@responses.activate
def test_download_is_checked_against_the_stac_search_through_the_recorder(
    tmp_path: Path,
) -> None:
    planned, path = _planned_ang(tmp_path, b"angles\n")
    other = hashlib.sha512(b"other bytes").hexdigest()
    item = {
        "type": "Feature",
        "id": f"{PRODUCT}_SR",
        "assets": {
            "ang": {
                "href": f"https://landsatlook.example/x/{planned.file_name}",
                "file:checksum": "1340" + hashlib.sha512(b"angles\n").hexdigest(),
            },
        },
    }
    responses.post(STAC + "/search", json={"type": "FeatureCollection", "features": [item]})
    doctor = _stac_doctor(tmp_path)
    check = doctor._verify(planned, path)
    assert (check.status, check.detail) == (
        OK,
        f"{planned.file_name} (7 bytes) matches its STAC SHA-512; order removed",
    )
    searched = [e for e in doctor.recorder.exchanges if e["request"]["url"] == STAC + "/search"]
    assert searched and searched[0]["request"]["body"]["ids"][0] == f"{PRODUCT}_SR"

    item["assets"]["ang"]["file:checksum"] = "1340" + other  # type: ignore[index]
    responses.replace(
        responses.POST, STAC + "/search", json={"type": "FeatureCollection", "features": [item]}
    )
    check = _stac_doctor(tmp_path)._verify(planned, path)
    assert check.status == FAIL and "SHA-512 differs" in check.detail


@responses.activate
def test_download_with_stac_down_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("m2mdl.stac.RETRY_DELAY", 0.0)
    responses.post(STAC + "/search", status=503)
    planned, path = _planned_ang(tmp_path, b"angles\n")
    check = _stac_doctor(tmp_path)._verify(planned, path)
    assert check.status == WARN
    assert check.detail == (
        f"{planned.file_name} (7 bytes) downloaded; no STAC checksum for it:"
        " the STAC API answered HTTP 503"
    )
    assert check.fix == "checksums cannot be looked up now; try again later"
