"""Addresses as people type them, the badge's text, and remembered connections with keyring keys."""

from __future__ import annotations

import json

import pytest

from engine.remote import (
    ConnectionStore,
    RemoteAddressError,
    RemoteConnection,
    ServerAddress,
    remote_label,
)
from engine.secrets import SERVICE, SecretStoreError
from tests.memory_keyring import use_memory_keyring, use_no_keyring


@pytest.fixture
def memory_keyring():
    with use_memory_keyring() as backend:
        yield backend


@pytest.fixture
def no_keyring():
    with use_no_keyring():
        yield


@pytest.mark.parametrize(
    ("typed", "root", "api", "host"),
    [
        ("gpu-box:8080", "http://gpu-box:8080", "http://gpu-box:8080/v1", "gpu-box:8080"),
        (
            "http://10.0.0.5:11434/v1/",
            "http://10.0.0.5:11434",
            "http://10.0.0.5:11434/v1",
            "10.0.0.5:11434",
        ),
        (
            "https://llm.example.org/team/v1",
            "https://llm.example.org/team",
            "https://llm.example.org/team/v1",
            "llm.example.org",
        ),
        (" http://[::1]:8000 ", "http://[::1]:8000", "http://[::1]:8000/v1", "[::1]:8000"),
    ],
)
def test_addresses_are_normalized(typed, root, api, host):
    address = ServerAddress.parse(typed)
    assert (address.root, address.api, address.host) == (root, api, host)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "No server address"),
        ("ftp://host", "not an http"),
        ("http://host:port", "not a server"),
        ("http://me:secret@host:8080", "user name or password"),
    ],
)
def test_bad_addresses_say_why_in_one_line(typed, words):
    with pytest.raises(RemoteAddressError) as caught:
        ServerAddress.parse(typed)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_label_names_host_and_model_and_shortens_file_paths():
    assert remote_label("gpu-box:8080", "qwen2.5:7b") == "Remote: gpu-box:8080 · qwen2.5:7b"
    assert (remote_label("h:1", "/models/SmolLM2-135M-Instruct.Q4_1.gguf")
            == "Remote: h:1 · SmolLM2-135M-Instruct.Q4_1.gguf")  # fmt: skip
    assert (
        remote_label("h:1", "Qwen/Qwen2.5-7B-Instruct") == "Remote: h:1 · Qwen/Qwen2.5-7B-Instruct"
    )
    assert RemoteConnection("gpu-box:8080").label == "Remote: gpu-box:8080"


def test_store_remembers_connections_and_keeps_keys_out_of_the_file(tmp_path, memory_keyring):
    store = ConnectionStore(tmp_path / "remotes.json")
    assert store.connections() == []
    first = store.save(RemoteConnection("gpu-box:8080", model="qwen"), api_key="sk-secret")
    second = store.save(RemoteConnection("http://gpu-box:8080/v1", model="llama"))
    assert first.has_key and second.has_key  # one key per server
    listed = store.connections()
    assert [c.model for c in listed] == ["qwen", "llama"]
    assert store.api_key(listed[1]) == "sk-secret"
    assert "sk-secret" not in (tmp_path / "remotes.json").read_text()
    assert memory_keyring.passwords == {(SERVICE, "remote:http://gpu-box:8080"): "sk-secret"}
    assert store.find("http://gpu-box:8080/", "llama") == second
    assert store.find("gpu-box:8080", "other") is None

    # Saving again replaces; removing the last connection to a server forgets its key.
    store.save(RemoteConnection("gpu-box:8080", model="qwen", context_window=32768))
    assert [c.context_window for c in store.connections()] == [0, 32768]
    store.remove(store.find("gpu-box:8080", "qwen"))
    assert memory_keyring.passwords
    store.remove(store.find("gpu-box:8080", "llama"))
    assert store.connections() == [] and memory_keyring.passwords == {}


def test_an_empty_key_forgets_the_stored_one(tmp_path, memory_keyring):
    store = ConnectionStore(tmp_path / "remotes.json")
    store.save(RemoteConnection("h:1"), api_key="k")
    stored = store.save(RemoteConnection("h:1"), api_key="")
    assert not stored.has_key and store.api_key(stored) is None and memory_keyring.passwords == {}


def test_without_a_keyring_the_key_is_refused_in_words_and_nothing_is_saved(tmp_path, no_keyring):
    store = ConnectionStore(tmp_path / "remotes.json")
    with pytest.raises(SecretStoreError) as caught:
        store.save(RemoteConnection("gpu-box:8080"), api_key="sk-secret")
    assert caught.value.message == "This computer has no keyring to keep the API key in."
    assert "GNOME Keyring" in caught.value.hint
    assert store.connections() == [] and not (tmp_path / "remotes.json").exists()
    # A connection without a key needs no keyring at all.
    stored = store.save(RemoteConnection("gpu-box:8080"))
    assert not stored.has_key and store.api_key(stored) is None
    # One that has a key says where else to give it when the keyring cannot be read.
    with pytest.raises(SecretStoreError) as caught:
        store.api_key(RemoteConnection("gpu-box:8080", has_key=True), "give it with --api-key")
    assert caught.value.hint.endswith("or give it with --api-key.")


def test_a_damaged_file_or_entry_is_skipped_not_raised(tmp_path):
    path = tmp_path / "remotes.json"
    path.write_text("{not json")
    assert ConnectionStore(path).connections() == []
    path.write_text(json.dumps({"version": 1, "connections": [
        {"url": "ftp://nope"}, {"model": "no url"}, {"url": "h:1", "model": "m"}]}))  # fmt: skip
    assert [c.id for c in ConnectionStore(path).connections()] == ["http://h:1#m"]
