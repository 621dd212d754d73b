"""Control API of the sandbox: JSON over HTTP under ``/control``, for tests, demos and benchmarks.

Bodies are JSON objects (query parameters are merged in). Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "..."}``. ``{chat_id}`` may be negative.

World
  GET    /control/health                      -> {"status": "up"}
  POST   /control/reset                       forget everything (update ids keep increasing)
  GET    /control/stats                       counts of bots, users, chats, queued updates, calls
Bots and users
  POST   /control/bots       {token | id, username?, first_name?, can_read_all_group_messages?, ...} -> bot
  GET    /control/bots/{bot_id}               getMe + pending_update_count, webhook_url, allowed_updates
  GET    /control/bots/{bot_id}/updates       queued, not yet confirmed updates (read-only peek)
  POST   /control/users      {first_name, id?, username?, last_name?, language_code?} -> User
Chats
  POST   /control/chats      {type: group|supergroup|private, title?, id?, username?, creator?, members?,
                              user_id? (private)} -> chat view (no updates: the chat "already existed")
  GET    /control/chats/{chat_id}             {chat, members, migrated_to, message_count}
  POST   /control/chats/{chat_id}/join        {user_id, by?}: chat_member/my_chat_member + new_chat_members
  POST   /control/chats/{chat_id}/leave       {user_id, by?, ban?}: chat_member/my_chat_member
                                              + left_chat_member
  POST   /control/chats/{chat_id}/promote     {user_id, by?, rights?}: becomes administrator
  POST   /control/chats/{chat_id}/demote      {user_id, by?}: back to member
  POST   /control/chats/{chat_id}/migrate     {by?, new_chat_id?}: group -> supergroup, returns the new chat
Messages
  POST   /control/chats/{chat_id}/messages    {user_id, text? | caption? (+photo), reply_to?, bot_id?,
                                              entities?}: a user's message; commands get bot_command
                                              entities; bot_id picks the bot of a private chat
  POST   /control/chats/{chat_id}/messages/batch   {messages: [{user_id, text?, ...}, ...]} -> message ids
  GET    /control/chats/{chat_id}/messages    ?sender=bot|user|any, include_deleted=true|false, bot_id=,
                                              after=<message_id> -> message views, oldest first (text,
                                              caption, photo (largest size), reply_to, reply_markup,
                                              edited/edits, deleted, raw message)
  GET    /control/chats/{chat_id}/photos      ?bot_id= -> photos bots sent, oldest first: {message_id, bot_id,
                                              caption, caption_entities, file_id, width, height, file_size
                                              (of the largest size = the uploaded bytes), sizes, deleted}
  POST   /control/chats/{chat_id}/messages/{message_id}/edit   {text}: edited_message update
  POST   /control/chats/{chat_id}/messages/{message_id}/press  {user_id, data? | text?}: callback_query
Files (what bots uploaded: sendPhoto keeps the bytes; getFile + /file/bot<token>/<path> serve them)
  GET    /control/files               ?bot_id= -> {file_id, file_unique_id, file_path, file_size, bot_id,
                                      source: upload|thumbnail|url, url, media_type, has_data}
  GET    /control/files/{file_id}     one of those
  GET    /control/files/{file_id}/content   the raw bytes (404 when the file has none: photos sent by URL)
Observation and faults
  GET    /control/calls               ?bot_id=&method=&since=<seq>: Bot API call log
  GET    /control/callback_answers    ?bot_id=: answerCallbackQuery calls
  GET    /control/faults | POST {method, kind, count?, chat_id?, retry_after?, migrate_to_chat_id?, delay?,
         error_code?, description?, parameters?} | DELETE     kind: retry_after | server_error | bad_gateway |
         kicked | blocked | migrated | delay | custom; method "*" matches every method
  GET    /control/flood  | POST {enabled, chat_rate?, chat_burst?, group_per_minute?, global_per_second?}
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox import control_ops as op
from bot.sandbox.delivery import Hub
from bot.sandbox.errors import ApiError

Handler = Callable[[Hub, op.Args], Any]

ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/health", lambda hub, a: {"status": "up"}),
    ("POST", "/reset", op.reset),
    ("GET", "/stats", op.stats),
    ("POST", "/bots", op.add_bot),
    ("GET", "/bots/{bot_id}", lambda hub, a: op.bot_view(op.get_bot(hub, a))),
    ("GET", "/bots/{bot_id}/updates", lambda hub, a: list(op.get_bot(hub, a).queue)),
    ("POST", "/users", op.add_user),
    ("POST", "/chats", op.create_chat),
    ("GET", "/chats/{chat_id}", op.get_chat),
    ("POST", "/chats/{chat_id}/join", op.join),
    ("POST", "/chats/{chat_id}/leave", op.leave),
    ("POST", "/chats/{chat_id}/promote", op.promote),
    ("POST", "/chats/{chat_id}/demote", op.demote),
    ("POST", "/chats/{chat_id}/migrate", op.migrate),
    ("POST", "/chats/{chat_id}/messages", op.post),
    ("POST", "/chats/{chat_id}/messages/batch", op.post_batch),
    ("GET", "/chats/{chat_id}/messages", op.messages),
    ("GET", "/chats/{chat_id}/photos", op.photos),
    ("POST", "/chats/{chat_id}/messages/{message_id}/edit", op.edit),
    ("POST", "/chats/{chat_id}/messages/{message_id}/press", op.press),
    ("GET", "/files", op.files),
    ("GET", "/files/{file_id}", lambda hub, a: op.stored_file(hub, a).view()),
    ("GET", "/calls", op.calls),
    ("GET", "/callback_answers", op.callback_answers),
    ("GET", "/faults", op.faults),
    ("POST", "/faults", op.add_fault),
    ("DELETE", "/faults", op.clear_faults),
    ("GET", "/flood", op.flood),
    ("POST", "/flood", op.flood),
]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        args = op.Args(request.query_params)
        try:
            body = await request.body()
            data = json.loads(body) if body else {}
            if not isinstance(data, dict):
                raise ApiError(400, "control request body must be a JSON object")
            args.update(data)
            args.update(request.path_params)
            result = handler(hub, args)
        except ApiError as exc:
            return JSONResponse(exc.to_json(), status_code=exc.code if 400 <= exc.code < 500 else 400)
        except (KeyError, TypeError, ValueError) as exc:
            error = ApiError(400, f"Bad control request: {exc.__class__.__name__}: {exc}")
            return JSONResponse(error.to_json(), status_code=400)
        return JSONResponse({"ok": True, "result": result})

    return endpoint


async def file_content(request: Request) -> Response:
    """The raw bytes of a stored file (not JSON, unlike every other control route)."""
    hub: Hub = request.app.state.hub
    found = hub.world.file(request.path_params["file_id"])
    if found is None or found.data is None:
        error = ApiError(404, "Not Found: no such file, or the sandbox holds no bytes for it")
        return JSONResponse(error.to_json(), status_code=404)
    return Response(found.data, media_type=found.media_type)


def routes() -> list[Route]:
    json_routes = [Route("/control" + path, _endpoint(h), methods=[verb]) for verb, path, h in ROUTES]
    return [*json_routes, Route("/control/files/{file_id}/content", file_content, methods=["GET"])]
