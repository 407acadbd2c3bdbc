"""Settings of the model backend, from the environment (or CLI flags and the app's sidebar).

The API key is read, held as a secret, and never written anywhere: not to logs, the cache, exports
or the screen (its repr is masked and `public()` leaves it out)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# Where each OpenAI-compatible server listens, the model to start with, and the instructor mode it
# handles best (tools where function calling works, JSON otherwise).
PRESETS: dict[str, dict[str, str]] = {
    "openai": {"base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini", "mode": "tools"},
    "deepseek": {"base_url": "https://api.deepseek.com/v1", "model": "deepseek-chat", "mode": "json"},
    "qwen": {"base_url": "https://dashscope.aliyuncs.com/compatible-mode/v1", "model": "qwen-plus", "mode": "tools"},
    "vllm": {"base_url": "http://localhost:8000/v1", "model": "Qwen/Qwen2.5-7B-Instruct", "mode": "json_schema"},
    "ollama": {"base_url": "http://localhost:11434/v1", "model": "qwen2.5:7b", "mode": "json"},
}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["offline", "openai"] = "offline"
    preset: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    mode: Literal["tools", "json", "json_schema", "md_json"] = "tools"
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    timeout: float = Field(default=60.0, gt=0)
    http_retries: int = Field(default=2, ge=0, le=10)  # 429/500/timeouts, honouring retry-after
    max_retries: int = Field(default=2, ge=0, le=5)  # re-asks when the answer fails validation
    redact: bool = True
    cache: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict = {}
        preset = overrides.get("preset") or env.get("POA_PRESET")
        if preset:
            if preset not in PRESETS:
                raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
            values.update(PRESETS[preset], preset=preset, backend="openai")
        pairs = {
            "backend": "POA_BACKEND", "base_url": "OPENAI_BASE_URL", "model": "POA_MODEL", "mode": "POA_MODE",
            "api_key": "OPENAI_API_KEY", "timeout": "POA_TIMEOUT", "http_retries": "POA_HTTP_RETRIES",
            "max_retries": "POA_MAX_RETRIES",
        }
        for field, name in pairs.items():
            if env.get(name):
                values[field] = env[name]
        if env.get("POA_REDACT"):
            values["redact"] = env["POA_REDACT"].lower() not in ("0", "false", "no", "off")
        if env.get("POA_CACHE"):
            values["cache"] = env["POA_CACHE"].lower() not in ("0", "false", "no", "off")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def public(self) -> dict:
        """What may be shown or logged: everything but the key, plus whether a key is set."""
        return {**self.model_dump(), "api_key_set": self.api_key is not None}
