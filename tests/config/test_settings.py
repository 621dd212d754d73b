"""Settings: env over TOML over defaults, and one clear line for a wrong setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    import os

    for key in list(os.environ):
        if key.startswith("GRIDBOT_"):
            monkeypatch.delenv(key)


def test_defaults_are_sqlite_shanghai_chinese() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///data/gridbot.db"
    assert settings.timezone == "Asia/Shanghai" and settings.language == "zh_CN"
    assert settings.http.port == 8080


def test_environment_with_nested_delimiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_TELEGRAM__TOKEN", "123:abc")
    monkeypatch.setenv("GRIDBOT_HTTP__PORT", "9000")
    monkeypatch.setenv("GRIDBOT_LANGUAGE", "en")
    settings = load_settings()
    assert settings.telegram.token is not None and settings.telegram.token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)  # secrets never printed
    assert settings.http.port == 9000 and settings.language == "en"


def test_toml_file_and_env_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "station.toml"
    config.write_text('language = "en"\nstation_name = "城关供电所"\n[http]\nport = 8181\n', encoding="utf-8")
    monkeypatch.setenv("GRIDBOT_CONFIG", str(config))
    monkeypatch.setenv("GRIDBOT_HTTP__PORT", "8282")
    settings = load_settings()
    assert settings.station_name == "城关供电所" and settings.language == "en"
    assert settings.http.port == 8282


def test_local_gridbot_toml_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / "gridbot.toml").write_text('timezone = "Asia/Urumqi"\n', encoding="utf-8")
    assert load_settings().timezone == "Asia/Urumqi"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("GRIDBOT_TIMEZONE", "Mars/Base", "GRIDBOT_TIMEZONE: expected an IANA time zone"),
        ("GRIDBOT_LANGUAGE", "fr", "GRIDBOT_LANGUAGE: Input should be 'zh_CN' or 'en'"),
        ("GRIDBOT_HTTP__PORT", "abc", "GRIDBOT_HTTP__PORT: Input should be a valid integer"),
        ("GRIDBOT_HTTP__PORT", "70000", "GRIDBOT_HTTP__PORT: Input should be less than or equal to 65535"),
        ("GRIDBOT_CONFIG", "/nonexistent.toml", "GRIDBOT_CONFIG: expected a readable TOML file"),
    ],
)
def test_wrong_setting_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, key: str, value: str,
                                         expected: str) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_malformed_toml_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("language = \n", encoding="utf-8")
    monkeypatch.setenv("GRIDBOT_CONFIG", str(bad))
    with pytest.raises(SettingsError, match="GRIDBOT_CONFIG: expected a valid TOML file"):
        load_settings()
