"""Settings: one object, read once at the edge from the environment and Streamlit secrets."""

import pytest

from fer.settings import Settings, SettingsError


def test_defaults_environment_and_secrets_in_that_order():
    assert Settings.from_env({}) == Settings()
    s = Settings.from_env(
        {"FER_MIN_FACES": "5", "FER_PUBLIC_URL": "https://class.example.org"},
        {"min_faces": 9, "bucket_s": 10, "ice_servers": [{"urls": "turn:t.example.org", "username": "u", "credential": "c"}]},
    )
    assert s.min_faces == 5  # the environment wins over secrets
    assert s.bucket_s == 10 and s.public_url == "https://class.example.org"
    assert s.ice_servers == ({"urls": "turn:t.example.org", "username": "u", "credential": "c"},)
    assert Settings(data_dir="/srv/fer").store_url == "sqlite:////srv/fer/classes.db"
    assert Settings(database_url="postgresql+psycopg://h/db").store_url == "postgresql+psycopg://h/db"


@pytest.mark.parametrize(
    "name, value",
    [("FER_MIN_FACES", "0"), ("FER_MIN_FACES", "three"), ("FER_BUCKET_S", "nan"), ("FER_RETENTION_DAYS", "inf"),
     ("FER_MAX_VIDEO_MB", "0"), ("FER_MAX_UPLOADS_MB", "-1"), ("FER_MODE", "turbo"), ("FER_ICE_SERVERS", '{"urls": 1}'), ("FER_ICE_SERVERS", "["),
     ("FER_ICE_TRANSPORT_POLICY", "none"), ("FER_ICE_TRANSPORT_POLICY", "relay")],
)
def test_a_bad_value_is_one_message_naming_the_setting(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_relay_only_needs_a_turn_server():
    turn = '[{"urls": ["stun:s.example.org:3478", "turn:t.example.org:3478"], "username": "u", "credential": "c"}]'
    assert Settings.from_env({}).ice_transport_policy == "all"
    assert Settings.from_env({"FER_ICE_SERVERS": turn, "FER_ICE_TRANSPORT_POLICY": "relay"}).ice_transport_policy == "relay"
    with pytest.raises(SettingsError, match="FER_ICE_TRANSPORT_POLICY=relay needs a turn: server"):
        Settings.from_env({"FER_ICE_SERVERS": '[{"urls": "stun:s.example.org:3478"}]', "FER_ICE_TRANSPORT_POLICY": "relay"})
    secrets = {"ice_servers": [{"urls": "turns:t.example.org:443?transport=tcp"}], "ice_transport_policy": "relay"}
    assert Settings.from_env({}, secrets).ice_transport_policy == "relay"


def test_the_library_reads_no_environment_variable():
    from pathlib import Path

    library = Path(__file__).resolve().parent.parent / "fer"
    reads = ("environ.get(", "environ[", "getenv(")
    readers = [p.name for p in library.glob("*.py") if p.name != "settings.py" and any(r in p.read_text() for r in reads)]
    assert readers == [], readers  # settings arrive as arguments (fer.settings.Settings.from_env at the edge)
