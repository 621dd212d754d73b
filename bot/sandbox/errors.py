"""The one error type of the sandbox: a Bot API error answer (error_code, description, parameters)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere in the world; the HTTP layers turn it into Telegram's error JSON."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def chat_not_found() -> ApiError:
    return ApiError(400, "Bad Request: chat not found")


def migrated(new_id: int) -> ApiError:
    return ApiError(
        400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_id}
    )


def retry_after(seconds: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
