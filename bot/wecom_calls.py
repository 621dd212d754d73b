"""The WeCom server API calls gridbot makes, through wechatpy's enterprise client (blocking: run them in a thread).

wechatpy caches the access token and fetches a new one a minute before it expires, and once more when WeCom
answers 40014/42001 (token invalid or expired); a lock keeps concurrent threads from fetching it twice. Every
failure becomes a `WecomError` whose `verdict` says what to do with it: retry later, give up on this message,
or fix the configuration (the log line names the setting).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from config.settings import WecomSettings

log = logging.getLogger(__name__)
JSON = dict[str, Any]


class Verdict(StrEnum):
    RETRY = "retry"  # busy, rate-limited, network: the outbox sweep tries again
    GIVE_UP = "give_up"  # this message cannot go (unknown user, closed window): marked failed
    RECONFIGURE = "reconfigure"  # the settings or the admin console are wrong: every call will fail


# https://developer.work.weixin.qq.com/document/path/90313 (全局错误码)
RETRY_CODES = frozenset({-1, 45009, 45033, 45011, 45047, 6000})
RECONFIGURE = {
    40001: "GRIDBOT_WECOM__SECRET (invalid secret)",
    40013: "GRIDBOT_WECOM__CORP_ID (invalid corp id)",
    40056: "GRIDBOT_WECOM__AGENT_ID (invalid agent id)",
    48002: "the app's API permissions in the admin console (客户联系/微信客服 not granted)",
    60020: "the app's trusted IP list (企业可信IP) in the admin console",
    41001: "the access token (missing)",
}


class WecomError(Exception):
    def __init__(self, errcode: int | None, errmsg: str, verdict: Verdict) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}" if errcode is not None else errmsg)
        self.errcode, self.errmsg, self.verdict = errcode, errmsg, verdict


def classify(exc: Exception) -> WecomError:
    if isinstance(exc, WecomError):
        return exc
    if isinstance(exc, WeChatClientException):
        code = exc.errcode
        if code is None:  # an HTTP error status from WeCom or a proxy
            return WecomError(None, f"HTTP error {getattr(exc.response, 'status_code', '?')}", Verdict.RETRY)
        if code in RETRY_CODES:
            return WecomError(code, str(exc.errmsg), Verdict.RETRY)
        if code in RECONFIGURE:
            log.error("WeCom refused a call (errcode %s): check %s", code, RECONFIGURE[code])
            return WecomError(code, str(exc.errmsg), Verdict.RECONFIGURE)
        return WecomError(code, str(exc.errmsg), Verdict.GIVE_UP)
    if isinstance(exc, requests.RequestException):
        return WecomError(None, f"network: {exc.__class__.__name__}", Verdict.RETRY)
    return WecomError(None, repr(exc), Verdict.GIVE_UP)


class _Client(WeChatClient):  # wechatpy has no type hints: its classes are Any
    """wechatpy's client pointed at a configurable base URL (the fake WeCom in tests and the sandbox)."""

    def __init__(self, corp_id: str, secret: str, base_url: str, timeout: float) -> None:
        super().__init__(corp_id, secret, timeout=timeout)
        self.API_BASE_URL = base_url if base_url.endswith("/") else base_url + "/"
        self._token_lock = threading.Lock()
        self.tokens_fetched = 0

    def fetch_access_token(self) -> Any:
        with self._token_lock:
            return self._fetch_access_token(url=f"{self.API_BASE_URL}gettoken",
                                            params={"corpid": self.corp_id, "corpsecret": self.secret})

    def _fetch_access_token(self, url: str, params: dict[str, str]) -> Any:
        self.tokens_fetched += 1
        return super()._fetch_access_token(url, params)


@dataclass(frozen=True)
class KfBatch:
    messages: list[JSON]
    next_cursor: str
    has_more: bool


class WecomCalls:
    def __init__(self, settings: WecomSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.agent_id = settings.agent_id or 0
        secret = settings.secret.get_secret_value() if settings.secret else ""
        self.client = _Client(settings.corp_id, secret, settings.api_base_url, timeout)

    def _post(self, path: str, data: JSON) -> JSON:
        try:
            return dict(self.client.post(path, data=data))
        except Exception as exc:
            raise classify(exc) from exc

    # --- staff: app messages --------------------------------------------------------------------
    def send_text(self, userid: str, content: str) -> None:
        result = self._post("message/send", {"touser": userid, "msgtype": "text", "agentid": self.agent_id,
                                             "text": {"content": content}})
        if userid in str(result.get("invaliduser", "")).split("|"):
            raise WecomError(81013, f"user {userid} unknown to the app", Verdict.GIVE_UP)

    def send_buttons(self, userid: str, title: str, text: str, task_id: str,
                     buttons: list[tuple[str, str]]) -> None:
        """A button_interaction template card; a press comes back as a template_card_event callback."""
        card = {"card_type": "button_interaction", "main_title": {"title": title[:36]},
                "sub_title_text": text[:1000], "task_id": task_id,
                "button_list": [{"text": label[:10], "style": 1, "key": key} for label, key in buttons[:6]]}
        self._post("message/send", {"touser": userid, "msgtype": "template_card", "agentid": self.agent_id,
                                    "template_card": card})

    def robot(self, url: str, content: str) -> None:
        try:
            result = self.client._http.post(url, json={"msgtype": "markdown", "markdown": {"content": content}},
                                            timeout=self.client.timeout)
            result.raise_for_status()
            body = result.json()
        except Exception as exc:
            raise classify(exc) from exc
        code = int(body.get("errcode", 0))
        if code:
            raise classify(WeChatClientException(code, body.get("errmsg", "")))

    # --- customer groups (客户群) -----------------------------------------------------------------
    def group_chat(self, chat_id: str) -> JSON | None:
        """The group with its members, or None when WeCom no longer knows it (dismissed)."""
        try:
            return dict(self._post("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1})
                        ["group_chat"])
        except WecomError as exc:
            if exc.verdict is Verdict.GIVE_UP:
                return None
            raise

    def group_chat_ids(self) -> list[str]:
        """Every customer group of the corp the app may see (paged by cursor)."""
        ids: list[str] = []
        cursor = ""
        while True:
            page = self._post("externalcontact/groupchat/list", {"status_filter": 0, "cursor": cursor, "limit": 1000})
            ids += [item["chat_id"] for item in page.get("group_chat_list", [])]
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return ids

    def add_group_template(self, sender: str, chat_ids: list[str], text: str) -> tuple[str, list[str]]:
        """A 群发 task for `sender` to confirm into `chat_ids` (at most 2000); its msgid and refused groups."""
        result = self._post("externalcontact/add_msg_template", {
            "chat_type": "group", "sender": sender, "chat_id_list": chat_ids, "allow_select": False,
            "text": {"content": text}})
        return str(result["msgid"]), [str(c) for c in result.get("fail_list", [])]

    def remind(self, msgid: str) -> None:
        self._post("externalcontact/remind_groupmsg_send", {"msgid": msgid})

    def send_results(self, msgid: str, sender: str) -> list[JSON]:
        results: list[JSON] = []
        cursor = ""
        while True:
            page = self._post("externalcontact/get_groupmsg_send_result",
                              {"msgid": msgid, "userid": sender, "limit": 1000, "cursor": cursor})
            results += page.get("send_list", [])
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return results

    # --- 微信客服 -----------------------------------------------------------------------------------
    def kf_sync(self, token: str, open_kfid: str, cursor: str) -> KfBatch:
        data = {"cursor": cursor, "token": token, "open_kfid": open_kfid, "limit": 1000}
        page = self._post("kf/sync_msg", {k: v for k, v in data.items() if v})
        return KfBatch(list(page.get("msg_list", [])), str(page.get("next_cursor", "")), bool(page.get("has_more")))

    def kf_send(self, external_userid: str, open_kfid: str, text: str,
                menu: list[tuple[str, str]] | None = None) -> None:
        body: JSON = {"touser": external_userid, "open_kfid": open_kfid}
        if menu:
            body |= {"msgtype": "msgmenu", "msgmenu": {
                "head_content": text, "list": [{"type": "click", "click": {"id": key[:128], "content": label}}
                                               for label, key in menu]}}
        else:
            body |= {"msgtype": "text", "text": {"content": text}}
        self._post("kf/send_msg", body)
