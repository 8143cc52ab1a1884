"""The navi's LINE bot (issue #13): what it answers to a webhook.

The view (views/line.py) hands the raw body here. `parse_webhook()` checks
the signature and the shape with the SDK (line-bot-sdk v3) and refuses
anything else; `handle()` takes each event once (`claim()`: its
webhookEventId in LineDelivery), builds the reply with `messages_for()` and
sends it with `send_reply()`.

The guided flow, all in quick replies (at most 13 items, paged with
「もっと見る」 as the 13th):

    困りごと (top-level Category) ── 振興局 (Region) ── 市町村 / 振興局全体 ── windows
        └─ 「現在地から探す」 (LocationAction) ── location message ── nearest windows

What has been chosen so far travels in the postback data, never on the
server: `c=<category key>`, `r=<region id>`, `m=<municipality code>`,
`a=1` (the whole 振興局), `p=<page>`, e.g. "c=sumai&r=1&p=1".
`parse_postback()` accepts only that grammar with rows that exist, and turns
anything else into the first step. A location message carries no postback
data, so 「現在地から探す」 is offered at the first step and lists the nearest
windows of every 困りごと. What is found is directory.navi's, what is counted
directory.stats' (one search per flow that lists windows; no LINE user id
is ever stored).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import urllib3
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexCarousel,
    FlexMessage,
    FlexText,
    LocationAction,
    Message,
    MessagingApi,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
    URIAction,
)
from linebot.v3.webhook import SignatureValidator
from linebot.v3.webhooks import (
    CallbackRequest,
    Event,
    FollowEvent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
)

from network.models import Municipality, Region

from . import navi, stats
from .enums import Channel
from .models import Category, LineDelivery, ServiceAtLocation

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
QUICK_REPLY_MAX = 13  # LINE's limit per message
MESSAGES_MAX = 5  # LINE's limit per reply
RESULTS_MAX = 5  # windows in one reply (one carousel)
LABEL_MAX = 20  # a quick reply or button label
POSTBACK_MAX = 300  # LINE's limit of postback data
DESCRIPTION_CHARS = 60
EVENT_ID_MAX = 64  # LineDelivery.event_id
# The reply token is single-use and expires within a minute: one try, short
# timeouts (connect, read), so that the webhook answers LINE quickly.
REPLY_TIMEOUT = (3.05, 5)
REPLY_RETRIES = 0


class InvalidWebhook(Exception):
    """Unsigned, mis-signed, oversized or not a webhook body (answered 400)."""


# --- The webhook body -----------------------------------------------------------


def parse_webhook(body: bytes, signature: str | None, *, secret: str) -> list[Event]:
    """The events of a signed webhook body; raises InvalidWebhook otherwise.

    Events of a type this SDK does not know (LINE adds some now and then) are
    dropped; a known type that does not validate makes the whole body invalid,
    so nothing of it is acted on."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidWebhook("body too large")
    if not signature:
        raise InvalidWebhook("no signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidWebhook("not UTF-8") from error
    # hmac.compare_digest inside: constant time.
    if not SignatureValidator(secret).validate(text, signature):
        raise InvalidWebhook("bad signature")
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise InvalidWebhook("not JSON") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise InvalidWebhook("not a webhook body")
    events = []
    for raw in payload["events"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise InvalidWebhook("not an event")
        if Event.get_discriminator_value(raw) is None:
            logger.info("LINE webhook: event type %r ignored", raw["type"][:40])
            continue
        try:
            event = Event.from_dict(raw)
        # pydantic's ValidationError is a ValueError; the SDK's discriminators
        # index nested parts (message, source) without checking them, so a
        # part that is not an object with a "type" raises KeyError/TypeError.
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvalidWebhook("invalid event") from error
        if len(event.webhook_event_id) > EVENT_ID_MAX or not event.webhook_event_id:
            raise InvalidWebhook("invalid event id")
        events.append(event)
    try:
        CallbackRequest(destination=payload.get("destination"), events=events)
    except ValueError as error:
        raise InvalidWebhook("invalid destination") from error
    return events


def claim(event_id: str) -> bool:
    """Record the event as handled; False when it already was (a redelivery,
    or the same event racing in on another request): the unique insert
    decides, whatever deliveryContext.isRedelivery says."""
    try:
        with transaction.atomic():
            LineDelivery.objects.create(event_id=event_id)
    except IntegrityError:
        return False
    return True


def handle(events: Sequence[Event]) -> None:
    """Answer each event that can be answered, once."""
    for event in events:
        reply_token = getattr(event, "reply_token", None)
        if not reply_token:
            continue  # unfollow, leave, …: nothing to answer
        if not claim(event.webhook_event_id):
            logger.info("LINE webhook: event %s already handled", event.webhook_event_id)
            continue
        messages = messages_for(event)
        if messages:
            send_reply(reply_token, messages)


def send_reply(reply_token: str, messages: Sequence[Message]) -> bool:
    """Send the reply through the Messaging API at settings.LINE_API_BASE.

    A failure (LINE down, an error status, a timeout) is logged and dropped:
    the webhook still answers 200, since the reply token cannot be used
    again and a redelivery would be ignored anyway."""
    configuration = Configuration(
        host=settings.LINE_API_BASE, access_token=settings.LINE_CHANNEL_ACCESS_TOKEN
    )
    configuration.retries = REPLY_RETRIES
    request = ReplyMessageRequest(reply_token=reply_token, messages=list(messages))
    try:
        with ApiClient(configuration) as client:
            MessagingApi(client).reply_message(request, _request_timeout=REPLY_TIMEOUT)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        logger.warning("LINE reply failed: %s", type(error).__name__, exc_info=True)
        return False
    return True


# --- The state in the postback data ---------------------------------------------


@dataclass(frozen=True)
class Step:
    """Where a person is in the flow (all empty: the first step)."""

    category: Category | None = None
    region: Region | None = None
    municipality: Municipality | None = None
    whole_region: bool = False
    page: int = 0


FIRST = Step()
_FIELDS = {
    "c": re.compile(r"[a-z0-9_-]{1,40}"),
    "r": re.compile(r"[1-9][0-9]{0,2}"),
    "m": re.compile(r"[0-9]{6}"),
    "a": re.compile(r"1"),
    "p": re.compile(r"[0-9]{1,2}"),
}


def postback_data(step: Step) -> str:
    fields = {}
    if step.category is not None:
        fields["c"] = step.category.key
    if step.region is not None:
        fields["r"] = step.region.pk
    if step.municipality is not None:
        fields["m"] = step.municipality.code
    if step.whole_region:
        fields["a"] = 1
    if step.page or not fields:
        fields["p"] = step.page
    return urlencode(fields)


def parse_postback(data: str) -> Step:
    """The step a postback asks for; the first step for anything that is not
    one this bot made (unknown keys, repeated keys, rows that do not exist,
    a municipality outside the 振興局, a page past the end)."""
    if not isinstance(data, str) or len(data) > POSTBACK_MAX:
        return FIRST
    try:
        pairs = parse_qsl(data, keep_blank_values=True, strict_parsing=True, max_num_fields=5)
    except ValueError:
        return FIRST
    fields = dict(pairs)
    if len(fields) != len(pairs) or not all(
        key in _FIELDS and _FIELDS[key].fullmatch(value) for key, value in pairs
    ):
        return FIRST
    page = int(fields.get("p", 0))
    if "c" not in fields:
        return Step(page=page) if set(fields) == {"p"} else FIRST
    category = Category.objects.filter(key=fields["c"], parent__isnull=True).first()
    if category is None:
        return FIRST
    if "r" not in fields:
        return Step(category, page=page) if set(fields) <= {"c", "p"} else FIRST
    region = Region.objects.filter(pk=int(fields["r"])).first()
    if region is None:
        return FIRST
    if "m" in fields:
        if set(fields) != {"c", "r", "m"}:
            return FIRST
        municipality = Municipality.objects.filter(code=fields["m"], region=region).first()
        return FIRST if municipality is None else Step(category, region, municipality)
    if "a" in fields:
        return (
            Step(category, region, whole_region=True) if set(fields) == {"c", "r", "a"} else FIRST
        )
    return Step(category, region, page=page)


# --- Replies ----------------------------------------------------------------------


def messages_for(event: Event) -> list[Message]:
    """The reply to one event (empty: no reply)."""
    if isinstance(event, FollowEvent):
        return [TextMessage(text=greeting()), *first_step()]
    if isinstance(event, PostbackEvent):
        return reply_to_step(parse_postback(event.postback.data))
    if isinstance(event, MessageEvent):
        message = event.message
        if isinstance(message, LocationMessageContent):
            return near_results(float(message.latitude), float(message.longitude))
        if isinstance(message, TextMessageContent):
            category = top_categories().filter(name=message.text.strip()).first()
            if category is not None:
                return reply_to_step(Step(category))
        return first_step()
    return []


def reply_to_step(step: Step) -> list[Message]:
    if step.category is None:
        return first_step(step.page)
    if step.municipality is not None:
        return area_results(step.category, step.region, municipality=step.municipality)
    if step.whole_region:
        return area_results(step.category, step.region)
    if step.region is not None:
        return municipality_step(step.category, step.region, step.page)
    return region_step(step.category, step.page)


def greeting() -> str:
    return _(
        "ともだち追加 ありがとうございます。\n"
        "「北海道支援情報ナビ」です。\n"
        "こまっていることを 相談できる 窓口を いっしょに さがします。\n"
        "相談は むりょうの ところが 多いです。"
        "名前や 住所を ここに 書く 必要は ありません。"
    )


def top_categories():
    return Category.objects.filter(parent__isnull=True).order_by("order", "key")


def first_step(page: int = 0) -> list[Message]:
    items = [_postback_item(c.name, Step(c)) for c in top_categories()]
    items.append(QuickReplyItem(action=LocationAction(label=_("現在地から探す"))))
    shown = _page(items, page, lambda p: Step(page=p))
    if shown is None:
        return first_step()
    text = _(
        "こまっていることを 1つ えらんでください。\n"
        "近くの窓口を 知りたいときは 「現在地から探す」を おしてください。"
    )
    return [TextMessage(text=text, quick_reply=QuickReply(items=shown))]


def region_step(category: Category, page: int) -> list[Message]:
    items = [_postback_item(r.name, Step(category, r)) for r in Region.objects.order_by("order")]
    shown = _page(items, page, lambda p: Step(category, page=p))
    if shown is None:
        return first_step()
    text = _("「%(category)s」ですね。\nあなたが いる 地域（振興局）を えらんでください。") % {
        "category": category.name
    }
    return [TextMessage(text=text, quick_reply=QuickReply(items=shown))]


def municipality_step(category: Category, region: Region, page: int) -> list[Message]:
    items = [
        _postback_item(
            _("%(region)s 全体") % {"region": region.name},
            Step(category, region, whole_region=True),
        )
    ]
    items += [
        _postback_item(m.name, Step(category, region, m))
        for m in Municipality.objects.filter(region=region).order_by("code")
    ]
    shown = _page(items, page, lambda p: Step(category, region, page=p))
    if shown is None:
        return first_step()
    text = _("%(region)sですね。\n市町村を えらんでください。") % {"region": region.name}
    return [TextMessage(text=text, quick_reply=QuickReply(items=shown))]


def area_results(
    category: Category, region: Region, *, municipality: Municipality | None = None
) -> list[Message]:
    if municipality is not None:
        queryset = navi.windows(category, municipality=municipality)
        area = municipality.name
        web = reverse(
            "directory:municipality", kwargs={"category": category.key, "code": municipality.code}
        )
    else:
        queryset = navi.windows(category, region=region)
        area = region.name
        web = reverse("directory:region", kwargs={"category": category.key, "region": region.pk})
    found = queryset.count()
    shown = queryset[:RESULTS_MAX] if found else []
    stats.record(
        Channel.LINE, category=category, region=region, municipality=municipality, found=found
    )
    where = {"category": category.name, "area": area}
    again = [_postback_item(_("ほかの地域"), Step(category)), *_restart_items()]
    if not found:
        return _nothing_found(
            _("「%(category)s」の窓口は、%(area)sでは まだ 見つかりませんでした。") % where, again
        )
    heading = _("「%(category)s」の窓口が %(area)sで %(count)s件 見つかりました。") % {
        **where,
        "count": found,
    }
    return _results(heading, [(w, None) for w in shown], found, web, again)


def near_results(latitude: float, longitude: float) -> list[Message]:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return first_step()
    near = navi.nearest(latitude, longitude, limit=RESULTS_MAX)
    stats.record(Channel.LINE, found=len(near))
    again = _restart_items()
    if not near:
        return _nothing_found(_("近くの窓口は まだ 見つかりませんでした。"), again)
    heading = _("近くの窓口を 近い順に %(count)s件 おくります。") % {"count": len(near)}
    return _results(heading, [(n.window, n.km) for n in near], len(near), None, again)


def danger_text() -> str:
    return _(
        "いま 危険を 感じているときは、すぐに 電話してください。\n"
        "警察 110 ／ 救急車・火事 119\n"
        "急な病気やけがで まよったら #7119\n"
        "よりそいホットライン 0120-279-338（24時間・むりょう）"
    )


def _results(heading, windows, found, web, again) -> list[Message]:
    """Heading, one carousel of the windows, the danger line (with the
    quick replies to go on): three messages."""
    if found > len(windows):
        heading += "\n" + _(
            "はじめの %(shown)s件です。ほかの窓口は ウェブの ナビで 見られます。"
        ) % {"shown": len(windows)}
        heading += "\n" + _absolute(web)
    bubbles = [_bubble(window, km) for window, km in windows]
    alt = Truncator("／".join(window.service.name for window, _km in windows)).chars(300)
    return [
        TextMessage(text=heading),
        FlexMessage(
            alt_text=_("窓口: %(names)s") % {"names": alt}, contents=FlexCarousel(contents=bubbles)
        ),
        TextMessage(text=danger_text(), quick_reply=QuickReply(items=again)),
    ]


def _nothing_found(text: str, again: list[QuickReplyItem]) -> list[Message]:
    text += "\n" + _("ウェブの ナビでは、ほかの 地域や ことばでも 探せます。") + "\n"
    text += _absolute(reverse("directory:home"))
    return [
        TextMessage(text=text),
        TextMessage(text=danger_text(), quick_reply=QuickReply(items=again)),
    ]


def _bubble(window: ServiceAtLocation, km: float | None) -> FlexBubble:
    service, location = window.service, window.location
    lines = [FlexText(text=Truncator(service.name).chars(80), weight="bold", size="md", wrap=True)]
    if service.description:
        brief = Truncator(" ".join(service.description.split())).chars(DESCRIPTION_CHARS)
        lines.append(FlexText(text=brief, size="sm", color="#555555", wrap=True))
    opening = navi.opening(window.schedules.all(), timezone.now())
    lines.append(
        FlexText(
            text=opening.text,
            size="sm",
            weight="bold",
            color="#1a7f37" if opening.is_open else "#333333",
            wrap=True,
        )
    )
    if location.address:
        lines.append(
            FlexText(
                text=_("住所 %(address)s") % {"address": location.address}, size="sm", wrap=True
            )
        )
    if km is not None:
        lines.append(FlexText(text=_("ここから 約%(km).1fkm") % {"km": km}, size="sm", wrap=True))
    phones = list(window.phones.all())
    if phones:
        lines.append(
            FlexText(text=_("電話 %(number)s") % {"number": phones[0].number}, size="sm", wrap=True)
        )
    buttons = []
    tel = _tel_uri(phones[0].number) if phones else None
    if tel:
        buttons.append(FlexButton(action=URIAction(label=_("電話する"), uri=tel), style="primary"))
    detail = _absolute(reverse("directory:window", kwargs={"pk": window.pk}))
    buttons.append(FlexButton(action=URIAction(label=_("くわしく見る"), uri=detail), style="link"))
    return FlexBubble(
        body=FlexBox(layout="vertical", spacing="sm", contents=lines),
        footer=FlexBox(layout="vertical", spacing="sm", contents=buttons),
    )


_PHONE = re.compile(r"\+?[0-9][0-9-]{8,}")


def _tel_uri(number: str) -> str | None:
    """tel: for the number's first dialable part (「011-000-0000 内線12」 →
    tel:011-000-0000); None when there is none."""
    match = _PHONE.search(number.replace("－", "-").replace("‐", "-"))
    if match is None or sum(ch.isdigit() for ch in match.group()) < 10:
        return None
    return "tel:" + match.group().strip("-")


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def _restart_items() -> list[QuickReplyItem]:
    return [
        _postback_item(_("ほかの困りごと"), FIRST),
        QuickReplyItem(action=LocationAction(label=_("現在地から探す"))),
    ]


def _postback_item(label: str, step: Step) -> QuickReplyItem:
    label = Truncator(label).chars(LABEL_MAX)
    return QuickReplyItem(
        action=PostbackAction(label=label, data=postback_data(step), display_text=label)
    )


def _page(
    items: list[QuickReplyItem], page: int, step_for: Callable[[int], Step]
) -> list[QuickReplyItem] | None:
    """One page of quick replies: all of them when they fit, else 12 and
    「もっと見る」 (the next page) as the 13th. None: no such page."""
    if len(items) <= QUICK_REPLY_MAX:
        return items if page == 0 else None
    size = QUICK_REPLY_MAX - 1
    start = page * size
    if start >= len(items):
        return None
    shown = items[start : start + size]
    if start + size < len(items):
        more = _("もっと見る")
        shown.append(
            QuickReplyItem(
                action=PostbackAction(
                    label=more, data=postback_data(step_for(page + 1)), display_text=more
                )
            )
        )
    return shown
