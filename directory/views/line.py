"""The LINE bot's webhook (/navi/line/webhook/): the checks of the request;
what the bot says is directory.line's.

Answers: 404 without a channel secret (the bot is off), 405 for anything
but POST, 400 for an oversized, unsigned, mis-signed or malformed body
(nothing of it is acted on), else 200 — also when the reply to LINE
failed (logged in directory.line.send_reply), so LINE does not redeliver.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import line as bot

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request):
    secret = settings.LINE_CHANNEL_SECRET
    if not secret:
        raise Http404
    # Refuse a large body before reading it, then read at most one byte
    # more than allowed (a missing or lying Content-Length cannot pass).
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return HttpResponseBadRequest()
    if declared > bot.MAX_BODY_BYTES:
        return HttpResponseBadRequest()
    body = request.read(bot.MAX_BODY_BYTES + 1)
    try:
        events = bot.parse_webhook(body, request.headers.get("X-Line-Signature"), secret=secret)
    except bot.InvalidWebhook as error:
        logger.info("LINE webhook refused: %s", error)
        return HttpResponseBadRequest()
    bot.handle(events)
    return HttpResponse(status=200)
