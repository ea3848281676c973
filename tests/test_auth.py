"""Unit tests of m2mdl.auth: stores, precedence, fallback, redaction (no real keyring needed)."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import chainer, fail, null

from m2mdl import auth
from m2mdl.auth import (
    Credentials,
    FileStore,
    KeyringStore,
    MemoryStore,
    SecretFilter,
    StoredSession,
    env_credentials,
    keyring_usable,
    open_store,
    redact,
    resolve_session,
)
from m2mdl.errors import AuthError, CredentialStoreError, NotLoggedIn

TOKEN = "tok-SECRET-1234567890abcdef"
KEY = "key-SECRET-fedcba0987654321"
ENV_TOKEN = "envtok-SECRET-5555"
SESSION = StoredSession(Credentials("alice", TOKEN)).with_key(KEY, 1000.0)
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


class MemKeyring(keyring.backend.KeyringBackend):
    """A working in-memory keyring backend."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.data[(service, username)]


class BrokenKeyring(MemKeyring):
    """Looks usable, but every call fails; a failed write echoes the secret it was given."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"cannot store {password!r} ({json.loads(password)['token']})")


class EmptyChainer(chainer.ChainerBackend):
    backends: list[keyring.backend.KeyringBackend] = []  # noqa: RUF012


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in ("M2MDL_USERNAME", "M2MDL_TOKEN", "M2MDL_NO_KEYRING"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("M2MDL_CONFIG_DIR", str(tmp_path / "cfg"))
    old = keyring.get_keyring()
    yield
    keyring.set_keyring(old)


@pytest.fixture
def mem_keyring() -> MemKeyring:
    backend = MemKeyring()
    keyring.set_keyring(backend)
    return backend


def make_store(kind: str) -> auth.CredentialStore:
    if kind == "keyring":
        keyring.set_keyring(MemKeyring())
        return KeyringStore()
    return FileStore() if kind == "file" else MemoryStore()


STORES = pytest.mark.parametrize("kind", ["keyring", "file", "memory"])


# --- stores -----------------------------------------------------------------------------------


@STORES
def test_round_trip(kind: str) -> None:
    store = make_store(kind)
    assert store.load() is None
    store.save(SESSION)
    assert store.load() == SESSION
    touched = SESSION.touched(2000.0)
    store.save(touched)
    assert store.load() == touched
    assert store.clear() is True
    assert store.load() is None


@STORES
def test_clear_on_empty_store_is_false(kind: str) -> None:
    assert make_store(kind).clear() is False


def test_keyring_layout(mem_keyring: MemKeyring) -> None:
    store = KeyringStore()
    store.save(SESSION)
    assert list(mem_keyring.data) == [("m2mdl", "session")]
    blob = json.loads(mem_keyring.data[("m2mdl", "session")])
    assert blob == {
        "v": 1,
        "username": "alice",
        "token": TOKEN,
        "api_key": KEY,
        "key_obtained": 1000.0,
        "key_last_used": 1000.0,
    }
    assert store.description == f"OS keyring ({mem_keyring.name})"
    assert "MemKeyring" in store.description


@posix_only
def test_file_is_0600_in_a_0700_dir_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)  # the worst umask: must not widen anything
    try:
        store = FileStore()
        store.save(SESSION)
        store.save(SESSION.touched(5.0))
    finally:
        os.umask(old)
    path = tmp_path / "cfg" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["credentials.json"]  # no tmp left
    assert store.description == f"file {path} (mode 0600)"


@posix_only
def test_file_is_never_readable_by_others_before_the_rename(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(stat.S_IMODE(os.stat(src).st_mode))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    FileStore().save(SESSION)
    assert seen == [0o600]


@posix_only
def test_existing_dir_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "cfg"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)  # noqa: S103 - a shared directory is the point of the test
    FileStore().save(SESSION)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755


@posix_only
def test_file_readable_by_others_is_refused() -> None:
    store = FileStore()
    store.save(SESSION)
    os.chmod(store.path, 0o644)
    with pytest.raises(CredentialStoreError) as info:
        store.load()
    assert "other users" in info.value.message
    assert info.value.hint is not None and f"chmod 600 {store.path}" in info.value.hint
    assert TOKEN not in str(info.value)


def test_a_full_disk_is_a_store_error_and_keeps_the_old_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from m2mdl.transfer import fsutil

    store = FileStore()
    store.save(SESSION)
    before = store.path.read_bytes()

    def full(fd: int, data: bytes, offset: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fsutil, "pwrite_all", full)
    with pytest.raises(CredentialStoreError, match=r"cannot write .*no space left") as info:
        store.save(SESSION.touched(5.0))
    assert TOKEN not in str(info.value) and KEY not in str(info.value)
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["credentials.json"]


def test_corrupt_file_is_an_error_without_its_content() -> None:
    store = FileStore()
    store.save(SESSION)
    store.path.write_text(TOKEN + " not json", encoding="utf-8")
    with pytest.raises(CredentialStoreError, match="unreadable") as info:
        store.load()
    assert TOKEN not in str(info.value)
    store.path.write_text(json.dumps({"v": 1, "username": "a", "token": 5}), encoding="utf-8")
    with pytest.raises(CredentialStoreError, match="unreadable"):
        store.load()


def test_keyring_errors_never_leak_secrets() -> None:
    keyring.set_keyring(BrokenKeyring())
    store = KeyringStore()
    for action in (store.load, lambda: store.save(SESSION), store.clear):
        with pytest.raises(CredentialStoreError) as info:
            action()
        text = f"{info.value} {info.value!r} {info.value.hint}"
        assert TOKEN not in text and KEY not in text
        assert "RuntimeError" in text and ("locked" in text or "cannot store '***'" in text)
        assert info.value.__cause__ is None and info.value.__suppress_context__


# --- keyring detection and fallback -----------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "usable"),
    [(MemKeyring, True), (fail.Keyring, False), (null.Keyring, False), (EmptyChainer, False)],
)
def test_keyring_usable(backend: type[keyring.backend.KeyringBackend], usable: bool) -> None:
    keyring.set_keyring(backend())
    assert keyring_usable() is usable


def test_open_store_prefers_a_working_keyring(mem_keyring: MemKeyring) -> None:
    notices: list[str] = []
    assert isinstance(open_store(notices.append), KeyringStore)
    assert notices == []


@pytest.mark.parametrize("backend", [fail.Keyring, BrokenKeyring])
def test_open_store_falls_back_to_the_file_once(
    backend: type[keyring.backend.KeyringBackend], tmp_path: Path
) -> None:
    keyring.set_keyring(backend())
    notices: list[str] = []
    store = open_store(notices.append)
    assert isinstance(store, FileStore)
    store.save(SESSION)
    assert store.load() == SESSION
    path = tmp_path / "cfg" / "credentials.json"
    assert notices == [f"no OS keyring available; storing credentials in {path} (mode 0600)"]


def test_no_keyring_env_forces_the_file(
    mem_keyring: MemKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M2MDL_NO_KEYRING", "1")
    notices: list[str] = []
    store = open_store(notices.append)
    assert isinstance(store, FileStore)
    assert notices == []  # nothing written yet: nothing to announce
    store.save(SESSION)
    store.save(SESSION)
    assert len(notices) == 1  # said once, when the file is created
    assert isinstance(open_store(notices.append), FileStore)
    assert len(notices) == 1  # later commands stay quiet


def test_environment_credentials_write_nothing_and_say_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("M2MDL_NO_KEYRING", "1")
    notices: list[str] = []
    store = open_store(notices.append)
    env_session = StoredSession(Credentials("env-user", "env-token"), from_env=True)
    store.save(env_session.with_key("k", 1.0))
    assert notices == [] and store.load() is None


# --- environment and precedence ---------------------------------------------------------------


def test_env_credentials() -> None:
    assert env_credentials({}) is None
    assert env_credentials({"M2MDL_USERNAME": " ", "M2MDL_TOKEN": ""}) is None
    creds = env_credentials({"M2MDL_USERNAME": "bob", "M2MDL_TOKEN": f" {ENV_TOKEN}\n"})
    assert creds == Credentials("bob", ENV_TOKEN)
    with pytest.raises(AuthError, match="M2MDL_TOKEN is not") as info:
        env_credentials({"M2MDL_USERNAME": "bob"})
    assert info.value.exit_code == 3
    with pytest.raises(AuthError, match="M2MDL_USERNAME is not") as info:
        env_credentials({"M2MDL_TOKEN": ENV_TOKEN})
    assert ENV_TOKEN not in str(info.value)


def test_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M2MDL_USERNAME", "bob")
    monkeypatch.setenv("M2MDL_TOKEN", ENV_TOKEN)
    assert resolve_session(MemoryStore()).credentials == Credentials("bob", ENV_TOKEN)


def test_not_logged_in() -> None:
    with pytest.raises(NotLoggedIn):
        resolve_session(MemoryStore(), {})


def test_store_is_used_without_env() -> None:
    store = MemoryStore()
    store.save(SESSION)
    assert resolve_session(store, {}) == SESSION


@STORES
def test_env_wins_and_is_never_persisted(kind: str) -> None:
    store = make_store(kind)
    env = {"M2MDL_USERNAME": "bob", "M2MDL_TOKEN": ENV_TOKEN}
    session = resolve_session(store, env)
    assert session.credentials == Credentials("bob", ENV_TOKEN)
    assert session.from_env and session.api_key is None
    store.save(session.with_key(KEY, 1.0))  # nothing stored for bob: nothing is written
    assert store.load() is None
    if kind == "file":
        assert not FileStore().path.exists()

    store.save(SESSION)  # alice's stored login, with a key: not bob's, so not reused
    session = resolve_session(store, env)
    assert session.api_key is None
    store.save(session.with_key("bobs-key", 2.0))
    assert store.load() == SESSION


@STORES
def test_env_reuses_and_refreshes_the_same_users_key(kind: str) -> None:
    store = make_store(kind)
    store.save(SESSION)
    env = {"M2MDL_USERNAME": "alice", "M2MDL_TOKEN": ENV_TOKEN}
    session = resolve_session(store, env)
    assert session.credentials.token == ENV_TOKEN
    assert (session.api_key, session.key_obtained) == (KEY, 1000.0)
    store.save(session.with_key("fresh-key", 3000.0))
    stored = store.load()
    assert stored is not None and stored.credentials.token == TOKEN  # env token not written
    assert (stored.api_key, stored.key_obtained) == ("fresh-key", 3000.0)


@posix_only
def test_env_works_even_when_the_store_is_broken() -> None:
    store = FileStore()
    store.save(SESSION)
    os.chmod(store.path, 0o644)
    env = {"M2MDL_USERNAME": "alice", "M2MDL_TOKEN": ENV_TOKEN}
    assert resolve_session(store, env) == StoredSession(Credentials("alice", ENV_TOKEN))
    with pytest.raises(CredentialStoreError):
        resolve_session(store, {})


# --- sessions, reprs --------------------------------------------------------------------------


def test_session_times() -> None:
    bare = StoredSession(Credentials("alice", TOKEN))
    assert bare.key_age(5.0) is None and bare.key_idle(5.0) is None
    assert SESSION.key_age(1600.0) == 600.0
    later = SESSION.touched(1500.0)
    assert (later.key_obtained, later.key_last_used) == (1000.0, 1500.0)
    assert later.key_age(1600.0) == 600.0 and later.key_idle(1600.0) == 100.0


@STORES
def test_no_repr_or_str_shows_a_secret(kind: str) -> None:
    store = make_store(kind)
    store.save(SESSION)
    env_session = resolve_session(store, {"M2MDL_USERNAME": "alice", "M2MDL_TOKEN": ENV_TOKEN})
    objects: list[object] = [
        SESSION.credentials,
        SESSION,
        env_session,
        store,
        store.load(),
        SecretFilter([TOKEN]),
    ]
    for obj in objects:
        for text in (repr(obj), str(obj), f"{obj}"):
            assert TOKEN not in text and KEY not in text and ENV_TOKEN not in text, text
    assert "alice" in repr(SESSION)


def test_auth_imports_no_heavy_modules() -> None:
    code = (
        "import sys, m2mdl.auth; "
        "print(sorted({'keyring', 'requests', 'rich', 'typer'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]"


# --- redaction --------------------------------------------------------------------------------


def test_redact() -> None:
    assert redact(f"key={KEY} token={TOKEN}", [KEY, TOKEN, ""]) == "key=*** token=***"
    assert redact("abcdef", ["abc", "abcdef"]) == "***"  # longest first: nothing half-hidden
    assert redact("nothing here", []) == "nothing here"


def capture(filt: SecretFilter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(filt)
    logger = logging.getLogger(f"m2mdl.test.{id(filt)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_secret_filter_redacts_messages_args_and_tracebacks() -> None:
    filt = SecretFilter()
    log, stream = capture(filt)
    log.info("login %s", TOKEN)
    filt.add_secret(TOKEN, KEY, "")
    log.info("login %s key=%r", TOKEN, {"apiKey": KEY})
    log.debug(f"url ?key={KEY}")
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        log.exception("failed for %s", "alice")
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"login {TOKEN}"  # before the secret was known
    rest = "\n".join(lines[1:])
    assert TOKEN not in rest and KEY not in rest
    assert "login *** key={'apiKey': '***'}" in rest
    assert "url ?key=***" in rest
    assert "ValueError: bad key ***" in rest and "failed for alice" in rest


def test_secret_filter_survives_bad_format_strings() -> None:
    log, stream = capture(SecretFilter([TOKEN]))
    log.info("%s %s", TOKEN)
    assert TOKEN not in stream.getvalue() and "***" in stream.getvalue()
