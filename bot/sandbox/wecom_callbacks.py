"""WecomCallbacks: builds, encrypts, signs and delivers callbacks exactly as WeCom does.

Encryption is wechatpy's (``wechatpy.enterprise.crypto``: AES-256-CBC, random(16) + length + xml +
corp_id, PKCS#7 to 32 bytes); the signature is sha1 over the sorted token, timestamp, nonce and Encrypt.

* URL verification: ``GET url?msg_signature=&timestamp=&nonce=&echostr=<encrypted random string>``;
  the endpoint must answer the decrypted string.
* Messages and events: ``POST url?msg_signature=&timestamp=&nonce=`` with body
  ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``.

``forged`` builds hostile requests (bad signature, another corp, not XML, oversized, entity bomb, stale)
for receiver tests; ``deliver`` sends any prepared request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.utils import to_text

from bot.sandbox import wecom_xml

JSON = dict[str, Any]
XML_HEADERS = {"Content-Type": "text/xml"}


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


@dataclass(frozen=True)
class PreparedCallback:
    """A ready-made callback request; ``plain`` is what the receiver should decrypt it to (if anything)."""

    method: str
    url: str
    params: dict[str, str]
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    plain: str | None = None

    @property
    def full_url(self) -> str:
        return f"{self.url}{'&' if '?' in self.url else '?'}{urlencode(self.params)}"


@dataclass(frozen=True)
class Delivery:
    status: int  # 0: no HTTP answer (error says why)
    body: str
    elapsed: float
    error: str | None = None

    def view(self) -> JSON:
        return {"status": self.status, "body": self.body, "elapsed": self.elapsed, "error": self.error}


class WecomCallbacks:
    """Pushes encrypted callbacks to ``url`` as corp ``corp_id``'s app ``agent_id`` would receive them."""

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        corp_id: str,
        agent_id: int | str = 1000002,
        url: str | None = None,
        *,
        timeout: float = 5.0,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token, self.encoding_aes_key = token, encoding_aes_key
        self.corp_id, self.agent_id = corp_id, agent_id
        self.url, self.timeout, self.clock = url, timeout, clock
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("encoding_aes_key must be 43 characters of base64 (a 32-byte AES key)")
        self._crypto = PrpCrypto(key)
        self._http, self._own_http = http, http is None
        self.forged = Forgeries(self)

    async def aclose(self) -> None:
        if self._http is not None and self._own_http:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> WecomCallbacks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- crypto -----------------------------------------------------------------------------------
    def encrypt(self, plain: str, corp_id: str | None = None) -> str:
        return to_text(self._crypto.encrypt(plain, corp_id or self.corp_id))

    def decrypt(self, encrypt: str) -> str:
        return str(self._crypto.decrypt(encrypt, self.corp_id))

    def stamp(self, timestamp: str | None = None, nonce: str | None = None) -> tuple[str, str]:
        """(timestamp, nonce) for a request: the given ones, else now and 10 random digits."""
        nonce = nonce or "".join(secrets.choice(string.digits) for _ in range(10))
        return timestamp or str(int(self.clock())), nonce

    def signed_params(self, encrypt: str, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp, nonce = self.stamp(timestamp, nonce)
        return {
            "msg_signature": signature(self.token, timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def target(self, url: str | None = None) -> str:
        target = url or self.url
        if not target:
            raise ValueError("no callback url")
        return target

    def prepare(
        self,
        plain_xml: str,
        *,
        url: str | None = None,
        timestamp: str | None = None,
        nonce: str | None = None,
        corp_id: str | None = None,
    ) -> PreparedCallback:
        """The POST WeCom would send for ``plain_xml`` (``corp_id``: encrypt as another corp)."""
        encrypt = self.encrypt(plain_xml, corp_id)
        body = wecom_xml.envelope(corp_id or self.corp_id, self.agent_id, encrypt).encode()
        params = self.signed_params(encrypt, timestamp, nonce)
        return PreparedCallback("POST", self.target(url), params, body, dict(XML_HEADERS), plain_xml)

    def prepare_verification(self, url: str | None = None, echo: str | None = None) -> PreparedCallback:
        """The GET of 验证URL有效性; the endpoint must answer ``plain`` (the decrypted echostr)."""
        echo = echo or "".join(secrets.choice(string.digits) for _ in range(19))
        echostr = self.encrypt(echo)
        params = {**self.signed_params(echostr), "echostr": echostr}
        return PreparedCallback("GET", self.target(url), params, plain=echo)

    # --- delivery ---------------------------------------------------------------------------------
    async def deliver(self, prepared: PreparedCallback, repeat: int = 1) -> list[Delivery]:
        """Send ``prepared`` ``repeat`` times (WeCom's retries resend the very same request)."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout)
        results = []
        for _ in range(repeat):
            started = time.monotonic()
            try:
                response = await self._http.request(
                    prepared.method,
                    prepared.url,
                    params=prepared.params,
                    content=prepared.body or None,
                    headers=prepared.headers,
                    timeout=self.timeout,
                )
            except httpx.HTTPError as exc:
                results.append(Delivery(0, "", time.monotonic() - started, f"{type(exc).__name__}: {exc}"))
                continue
            results.append(Delivery(response.status_code, response.text, time.monotonic() - started))
        return results

    async def push(self, plain_xml: str, repeat: int = 1, url: str | None = None) -> list[Delivery]:
        return await self.deliver(self.prepare(plain_xml, url=url), repeat)

    async def verify_url(self, url: str | None = None) -> JSON:
        """Run URL verification: {ok, status, body, expected, error}."""
        prepared = self.prepare_verification(url)
        delivery = (await self.deliver(prepared))[0]
        ok = delivery.status == 200 and delivery.body.strip() == prepared.plain
        shown = {"ok": ok, "status": delivery.status, "body": delivery.body, "expected": prepared.plain}
        return {**shown, "error": delivery.error}

    # --- plain XML builders -----------------------------------------------------------------------
    def change_external_chat(self, chat_id: str, change_type: str, **fields: Any) -> str:
        """fields: update_detail, join_scene, quit_scene, members, last_mem_ver, cur_mem_ver, create_time."""
        create_time = int(fields.pop("create_time", None) or self.clock())
        return wecom_xml.change_external_chat(self.corp_id, chat_id, change_type, create_time, **fields)

    def app_text(self, from_user: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
        msg_id = msg_id or secrets.randbelow(10**18) + 10**18
        when = create_time or int(self.clock())
        return wecom_xml.app_text(self.corp_id, from_user, content, msg_id, int(self.agent_id), when)

    def template_card_event(
        self, from_user: str, key: str, task_id: str, response_code: str = "", create_time: int | None = None
    ) -> str:
        when, code = create_time or int(self.clock()), response_code or secrets.token_urlsafe(32)
        return wecom_xml.template_card_event(self.corp_id, from_user, key, task_id, code, int(self.agent_id), when)

    def kf_msg_or_event(self, token: str, open_kfid: str, create_time: int | None = None) -> str:
        return wecom_xml.kf_msg_or_event(self.corp_id, token, open_kfid, create_time or int(self.clock()))


class Forgeries:
    """Hostile callback requests for receiver tests; each is a PreparedCallback to ``deliver``."""

    def __init__(self, callbacks: WecomCallbacks) -> None:
        self.cb = callbacks

    def _sample(self) -> str:
        return self.cb.app_text("forger", "hello")

    def wrong_signature(self, plain_xml: str | None = None, url: str | None = None) -> PreparedCallback:
        good = self.cb.prepare(plain_xml or self._sample(), url=url)
        bad = "0" * 40 if good.params["msg_signature"] != "0" * 40 else "1" * 40
        return PreparedCallback("POST", good.url, {**good.params, "msg_signature": bad}, good.body, good.headers)

    def other_corp(
        self, plain_xml: str | None = None, corp_id: str = "wwforged00000000", url: str | None = None
    ) -> PreparedCallback:
        """Correctly signed with the right token and key, but the payload names another corp id."""
        prepared = self.cb.prepare(plain_xml or self._sample(), url=url, corp_id=corp_id)
        return PreparedCallback("POST", prepared.url, prepared.params, prepared.body, prepared.headers)

    def not_xml(self, text: str = "this is {not} <xml", url: str | None = None) -> PreparedCallback:
        """Signed as if ``text`` were the Encrypt value, but the body is not XML at all."""
        params = self.cb.signed_params(text)
        return PreparedCallback("POST", self.cb.target(url), params, text.encode(), dict(XML_HEADERS))

    def oversized(self, size: int = 2 * 1024 * 1024, url: str | None = None) -> PreparedCallback:
        """A valid, correctly signed callback whose body exceeds ``size`` bytes."""
        plain = self.cb.app_text("forger", "x" * size)
        return self.cb.prepare(plain, url=url)

    def entity_bomb(self, inner: bool = False, url: str | None = None, depth: int = 9) -> PreparedCallback:
        """A DOCTYPE with nested ENTITY definitions: in the envelope (``inner=False``) or inside the
        correctly encrypted and signed payload (``inner=True``)."""
        bomb = wecom_xml.entity_bomb(depth)
        to_user = f"<ToUserName>{wecom_xml.cdata(self.cb.corp_id)}</ToUserName>"
        if inner:
            fields = f"<MsgType>{wecom_xml.cdata('text')}</MsgType><Content>&e{depth};</Content>"
            return self.cb.prepare(f"{bomb}<xml>{to_user}{fields}</xml>", url=url)
        encrypt = f"&e{depth};"
        body = f"{bomb}<xml>{to_user}<Encrypt>{encrypt}</Encrypt></xml>"
        params = self.cb.signed_params(encrypt)
        return PreparedCallback("POST", self.cb.target(url), params, body.encode(), dict(XML_HEADERS))

    def stale(self, plain_xml: str | None = None, age: int = 3600, url: str | None = None) -> PreparedCallback:
        """Correctly signed, but its timestamp is ``age`` seconds old (a replay)."""
        return self.cb.prepare(plain_xml or self._sample(), url=url, timestamp=str(int(self.cb.clock()) - age))
