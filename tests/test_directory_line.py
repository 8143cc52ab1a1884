"""The navi's LINE bot (/navi/line/webhook/, directory/line.py).

Replies go to a local stub of the Messaging API (an http.server in a
thread) that records each request; the bodies are signed with a test
channel secret, as LINE signs them."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from linebot.v3.messaging import Message, ReplyMessageRequest

from directory import line as bot
from directory.models import Category, LineDelivery, SearchTally
from network.models import Municipality, Region

from .directory_factories import window_at
from .factories import municipality, region

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
BOT_ID = "U" + "0" * 32
USER_ID = "U" + "1234abcd" * 4
URL = "/navi/line/webhook/"
REPLY_PATH = "/v2/bot/message/reply"


# --- The stub of LINE's Messaging API and signed webhooks -----------------------


class StubLine:
    def __init__(self, status=200):
        self.status = status
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
                )
                answer = json.dumps({"sentMessages": [{"id": "1", "quoteToken": "q"}]}).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def replies(self):
        return [r for r in self.requests if r["path"] == REPLY_PATH]

    def only_reply(self, reply_token):
        """The one reply sent, checked against LINE's limits with the SDK's
        own models; its messages as dicts."""
        assert len(self.requests) == 1
        (reply,) = self.replies
        assert reply["headers"]["Authorization"] == f"Bearer {TOKEN}"
        body = reply["json"]
        assert body["replyToken"] == reply_token
        assert 1 <= len(body["messages"]) <= 5
        ReplyMessageRequest.from_json(json.dumps(body))
        for message in body["messages"]:
            Message.from_dict(message)
            items = message.get("quickReply", {}).get("items", [])
            assert len(items) <= 13
            assert all(len(item["action"]["label"]) <= 20 for item in items)
        return body["messages"]


@pytest.fixture
def line_api(settings):
    stub = StubLine()
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.LINE_CHANNEL_ACCESS_TOKEN = TOKEN
    settings.LINE_API_BASE = stub.url
    settings.SITE_URL = "https://navi.example.org"
    yield stub
    stub.close()


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


_counter = iter(range(10**6))


def event(kind, *, event_id=None, redelivery=False, **fields):
    number = next(_counter)
    return {
        "type": kind,
        "mode": "active",
        "timestamp": 1767225600000 + number,
        "source": {"type": "user", "userId": USER_ID},
        "webhookEventId": event_id or f"01JTESTEVENT{number:014d}",
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": f"reply-token-{number}",
        **fields,
    }


def follow(**kw):
    return event("follow", follow={"isUnblocked": False}, **kw)


def postback(data, **kw):
    return event("postback", postback={"data": data}, **kw)


def text(words, **kw):
    return event(
        "message", message={"type": "text", "id": "1", "text": words, "quoteToken": "q"}, **kw
    )


def location(latitude, longitude, **kw):
    message = {"type": "location", "id": "2", "latitude": latitude, "longitude": longitude}
    return event("message", message=message, **kw)


def body_of(*events) -> bytes:
    return json.dumps({"destination": BOT_ID, "events": list(events)}).encode()


def post(client, body: bytes, signature=None, **extra):
    if signature is None:
        signature = sign(body)
    headers = {} if signature is False else {"X-Line-Signature": signature}
    return client.post(URL, data=body, content_type="application/json", headers=headers, **extra)


def send(client, line_api, the_event):
    """Post one signed event; the messages of its one reply."""
    response = post(client, body_of(the_event))
    assert response.status_code == 200
    return line_api.only_reply(the_event["replyToken"])


def quick_items(message):
    return message["quickReply"]["items"]


def postback_labels(message):
    return [i["action"]["label"] for i in quick_items(message) if i["action"]["type"] == "postback"]


def top_names():
    return list(Category.objects.filter(parent__isnull=True).values_list("name", flat=True))


def data_of(message, label):
    (item,) = [i for i in quick_items(message) if i["action"]["label"] == label]
    return item["action"]["data"]


# --- The route ----------------------------------------------------------------------


def test_line_webhook_route_is_in_the_navi():
    assert reverse("directory:line_webhook") == URL


@pytest.mark.django_db
def test_line_webhook_without_secret_is_not_found(client, settings, line_api):
    settings.LINE_CHANNEL_SECRET = ""
    body = body_of(follow())
    assert post(client, body).status_code == 404
    assert line_api.requests == []
    assert LineDelivery.objects.count() == 0


@pytest.mark.django_db
def test_line_webhook_get_is_not_allowed(client, line_api):
    assert client.get(URL).status_code == 405
    assert line_api.requests == []


# --- The flow -------------------------------------------------------------------------


@pytest.mark.django_db
def test_line_follow_greets_and_offers_the_troubles(client, line_api):
    the_event = follow()
    greeting, step = send(client, line_api, the_event)
    assert greeting["type"] == "text"
    assert "北海道支援情報ナビ" in greeting["text"]
    assert "quickReply" not in greeting
    assert postback_labels(step) == top_names()
    assert len(top_names()) == 10
    assert quick_items(step)[-1]["action"] == {"type": "location", "label": "現在地から探す"}
    assert data_of(step, "生活全般") == "c=seikatsu"


@pytest.mark.django_db
def test_line_regions_are_paged_by_twelve(client, line_api):
    (first,) = send(client, line_api, postback("c=sumai"))
    assert "「住まい」" in first["text"]
    regions = list(Region.objects.order_by("order").values_list("name", flat=True))
    assert len(regions) == 14
    assert postback_labels(first) == [*regions[:12], "もっと見る"]
    more = data_of(first, "もっと見る")
    assert dict(parse_qsl(more)) == {"c": "sumai", "p": "1"}

    line_api.requests.clear()
    (second,) = send(client, line_api, postback(more))
    assert postback_labels(second) == regions[12:]
    assert data_of(second, regions[12]) == f"c=sumai&r={Region.objects.get(name=regions[12]).pk}"


@pytest.mark.django_db
def test_line_municipalities_of_a_region_are_paged(client, line_api):
    sorachi = region("空知総合振興局")
    towns = list(
        Municipality.objects.filter(region=sorachi).order_by("code").values_list("name", flat=True)
    )
    assert len(towns) == 24
    offered = []
    data = f"c=kakei&r={sorachi.pk}"
    for _page in range(3):
        line_api.requests.clear()
        (step,) = send(client, line_api, postback(data))
        labels = postback_labels(step)
        if "もっと見る" in labels:
            assert labels[-1] == "もっと見る" and len(labels) == 13
            data = data_of(step, "もっと見る")
            labels = labels[:-1]
        else:
            data = None
        offered += labels
    assert data is None
    assert offered == ["空知総合振興局 全体", *towns]


@pytest.mark.django_db
def test_line_municipality_lists_windows_and_counts_one_search(client, line_api):
    window_at("札幌くらし相談センター", description="生活や仕事の困りごとを 一緒に考えます。")
    window_at("函館くらし相談センター", code="012025")
    sapporo = municipality("011002")
    seikatsu = Category.objects.get(key="seikatsu")
    the_event = postback(f"c=seikatsu&r={sapporo.region_id}&m=011002")

    heading, carousel, danger = send(client, line_api, the_event)

    assert heading["text"] == "「生活全般」の窓口が 札幌市で 1件 見つかりました。"
    assert carousel["type"] == "flex"
    (bubble,) = carousel["contents"]["contents"]
    texts = [c["text"] for c in bubble["body"]["contents"]]
    assert texts[0] == "札幌くらし相談センター"
    assert texts[1] == "生活や仕事の困りごとを 一緒に考えます。"
    assert texts[3] == "住所 札幌市中央区北1条西2丁目"
    assert texts[4] == "電話 011-000-0000"
    assert "函館くらし相談センター" not in json.dumps(carousel, ensure_ascii=False)
    actions = [b["action"] for b in bubble["footer"]["contents"]]
    assert actions[0] == {"type": "uri", "label": "電話する", "uri": "tel:011-000-0000"}
    assert actions[1]["uri"].startswith("https://navi.example.org/navi/w/")
    assert "110" in danger["text"] and "119" in danger["text"] and "#7119" in danger["text"]
    assert "0120-279-338" in danger["text"]
    assert "いま 危険を 感じているとき" in danger["text"]
    assert postback_labels(danger) == ["ほかの地域", "ほかの困りごと"]

    tally = SearchTally.objects.get()
    assert (tally.channel, tally.category, tally.municipality, tally.region) == (
        "line",
        seikatsu,
        sapporo,
        sapporo.region,
    )
    assert (tally.searches, tally.found_nothing) == (1, 0)


@pytest.mark.django_db
def test_line_results_show_five_and_point_to_the_web_for_more(client, line_api):
    for n in range(7):
        window_at(f"相談窓口{n}")
    sapporo = municipality("011002")
    heading, carousel, _danger = send(
        client, line_api, postback(f"c=seikatsu&r={sapporo.region_id}&a=1")
    )
    assert heading["text"].startswith("「生活全般」の窓口が 石狩振興局で 7件 見つかりました。")
    web = "https://navi.example.org" + reverse(
        "directory:region", kwargs={"category": "seikatsu", "region": sapporo.region_id}
    )
    assert heading["text"].endswith(web)
    assert len(carousel["contents"]["contents"]) == 5
    tally = SearchTally.objects.get()
    assert (tally.region, tally.municipality, tally.searches) == (sapporo.region, None, 1)


@pytest.mark.django_db
def test_line_nothing_found_says_so_and_points_to_the_web_navi(client, line_api):
    window_at("札幌くらし相談センター")
    hakodate = municipality("012025")
    found, danger = send(client, line_api, postback(f"c=seikatsu&r={hakodate.region_id}&m=012025"))
    assert "函館市では まだ 見つかりませんでした" in found["text"]
    assert found["text"].endswith("https://navi.example.org" + reverse("directory:home"))
    assert "0120-279-338" in danger["text"]
    tally = SearchTally.objects.get()
    assert (tally.municipality, tally.searches, tally.found_nothing) == (hakodate, 1, 1)


@pytest.mark.django_db
def test_line_location_lists_the_nearest_windows(client, line_api):
    window_at("近い窓口", latitude=43.0621, longitude=141.3544)
    window_at("遠い窓口", code="012025", latitude=41.7687, longitude=140.7288)
    window_at("位置のない窓口")
    heading, carousel, danger = send(client, line_api, location(43.0687, 141.3508))
    # Only windows within reach are listed (navi.NEAR_RADIUS_KM): 函館 is 250 km away.
    assert heading["text"] == "近くの窓口を 近い順に 1件 おくります。"
    names = [b["body"]["contents"][0]["text"] for b in carousel["contents"]["contents"]]
    assert names == ["近い窓口"]
    assert "ここから 約0.8km" in json.dumps(carousel, ensure_ascii=False)
    assert "0120-279-338" in danger["text"]
    tally = SearchTally.objects.get()
    assert (tally.category, tally.region, tally.searches, tally.found_nothing) == (None, None, 1, 0)


@pytest.mark.django_db
def test_line_text_that_is_no_command_gets_the_first_step(client, line_api):
    (step,) = send(client, line_api, text("こんにちは"))
    assert postback_labels(step) == top_names()
    assert SearchTally.objects.count() == 0


@pytest.mark.django_db
def test_line_text_naming_a_trouble_goes_to_the_regions(client, line_api):
    (step,) = send(client, line_api, text(" 住まい "))
    assert "「住まい」" in step["text"]
    assert len(postback_labels(step)) == 13


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        "",
        "start",
        "c=nothing",
        "c=seikatsu&c=sumai",
        "c=seikatsu&x=1",
        "c=seikatsu&r=999",
        "c=seikatsu&r=abc",
        "c=seikatsu&m=011002",
        "c=seikatsu&r=OTHER&m=011002",  # 札幌市 is not in that 振興局
        "c=seikatsu&r=HERE&m=011002&a=1",
        "c=seikatsu&r=HERE&p=1&a=1",
        "c=seikatsu&p=9",
        "c=seikatsu&r=HERE&p=99",
        "p=5",
        "c=" + "x" * 400,
        "c=%00%ff",
        "<script>",
    ],
)
def test_line_forged_postback_gets_the_first_step(client, line_api, data):
    here = municipality("011002").region
    other = Region.objects.exclude(pk=here.pk).first()
    data = data.replace("OTHER", str(other.pk)).replace("HERE", str(here.pk))
    (step,) = send(client, line_api, postback(data))
    assert postback_labels(step) == top_names()
    assert SearchTally.objects.count() == 0


@pytest.mark.django_db
def test_line_postback_round_trips_every_step():
    seikatsu = Category.objects.get(key="seikatsu")
    sapporo = municipality("011002")
    steps = [
        bot.FIRST,
        bot.Step(page=1),
        bot.Step(seikatsu),
        bot.Step(seikatsu, page=1),
        bot.Step(seikatsu, sapporo.region, page=1),
        bot.Step(seikatsu, sapporo.region, sapporo),
        bot.Step(seikatsu, sapporo.region, whole_region=True),
    ]
    assert [bot.parse_postback(bot.postback_data(s)) for s in steps] == steps


@pytest.mark.django_db
def test_line_verification_with_no_events_answers_200(client, line_api):
    """The console's 「検証」 sends a signed body with no event."""
    assert post(client, body_of()).status_code == 200
    assert line_api.requests == []


@pytest.mark.django_db
def test_line_unknown_event_type_is_ignored(client, line_api):
    body = body_of(event("somethingNew"), event("unfollow"))
    assert post(client, body).status_code == 200
    assert line_api.requests == []


# --- Refused requests -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "signature"),
    [
        pytest.param(body_of(follow()), False, id="unsigned"),
        pytest.param(body_of(follow()), "", id="empty signature"),
        pytest.param(body_of(follow()), sign(body_of(follow()), "other-secret"), id="mis-signed"),
        pytest.param(body_of(follow()), "not base64 at all", id="garbage signature"),
        pytest.param(b"not json", None, id="not json"),
        pytest.param(b"\xff\xfe", None, id="not utf-8"),
        pytest.param(b"[]", None, id="a list"),
        pytest.param(b'{"destination": "' + BOT_ID.encode() + b'"}', None, id="no events"),
        pytest.param(
            json.dumps({"destination": BOT_ID, "events": {"a": 1}}).encode(), None, id="events dict"
        ),
        pytest.param(body_of("follow"), None, id="event not an object"),
        pytest.param(
            body_of({k: v for k, v in follow().items() if k != "webhookEventId"}),
            None,
            id="no event id",
        ),
        pytest.param(body_of(follow(event_id="x" * 65)), None, id="long event id"),
        pytest.param(body_of({**postback("c=sumai"), "postback": None}), None, id="no postback"),
        pytest.param(
            json.dumps({"destination": "nobody", "events": [follow()]}).encode(),
            None,
            id="bad destination",
        ),
        pytest.param(
            json.dumps(
                {"destination": BOT_ID, "events": [follow()], "pad": " " * 1024 * 1024}
            ).encode(),
            None,
            id="over 1 MB",
        ),
    ],
)
def test_line_refuses_bad_requests_and_does_nothing(client, line_api, body, signature):
    assert post(client, body, signature).status_code == 400
    assert line_api.requests == []
    assert LineDelivery.objects.count() == 0
    assert SearchTally.objects.count() == 0


@pytest.mark.django_db
def test_line_refuses_a_declared_length_over_1_mb(client, line_api):
    body = body_of(follow())
    response = post(client, body, CONTENT_LENGTH=str(1024 * 1024 + 1))
    assert response.status_code == 400
    assert line_api.requests == []


@pytest.mark.django_db
def test_line_one_bad_event_refuses_the_whole_body(client, line_api):
    body = body_of(follow(), {**follow(), "timestamp": "yesterday"})
    assert post(client, body).status_code == 400
    assert line_api.requests == []
    assert LineDelivery.objects.count() == 0


# --- Once per event -------------------------------------------------------------------


@pytest.mark.django_db
def test_line_redelivered_event_is_not_answered_twice(client, line_api):
    first = follow()
    send(client, line_api, first)
    again = {**first, "deliveryContext": {"isRedelivery": True}}
    assert post(client, body_of(again)).status_code == 200
    assert len(line_api.replies) == 1
    assert list(LineDelivery.objects.values_list("event_id", flat=True)) == [
        first["webhookEventId"]
    ]


@pytest.mark.django_db
def test_line_redelivered_search_is_counted_once(client, line_api):
    window_at("札幌くらし相談センター")
    the_event = postback(f"c=seikatsu&r={municipality('011002').region_id}&m=011002")
    send(client, line_api, the_event)
    post(client, body_of({**the_event, "deliveryContext": {"isRedelivery": True}}))
    assert len(line_api.replies) == 1
    assert SearchTally.objects.get().searches == 1


@pytest.mark.django_db
def test_line_redelivery_of_an_unknown_event_is_answered(client, line_api):
    """Redelivered but never handled here (say the first try timed out before
    it reached us): it is answered once."""
    the_event = follow(redelivery=True)
    messages = send(client, line_api, the_event)
    assert len(line_api.replies) == 1
    assert postback_labels(messages[-1]) == top_names()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_line_same_event_posted_twice_at_once_is_answered_once(line_api, caplog):
    body = body_of(follow())
    barrier = threading.Barrier(2)
    statuses = []
    caplog.set_level("INFO", logger="directory.line")

    def deliver():
        try:
            client = Client()
            barrier.wait(timeout=10)
            statuses.append(post(client, body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200, 200]
    assert len(line_api.replies) == 1
    assert LineDelivery.objects.count() == 1
    assert caplog.text.count("already handled") == 1


# --- LINE unreachable -------------------------------------------------------------------


@pytest.mark.django_db
def test_line_down_is_logged_and_still_answers_200(client, line_api, settings, caplog):
    line_api.close()
    settings.LINE_API_BASE = line_api.url  # nobody listens there any more
    the_event = follow()
    with caplog.at_level("WARNING", logger="directory.line"):
        assert post(client, body_of(the_event)).status_code == 200
    assert "LINE reply failed" in caplog.text
    assert LineDelivery.objects.filter(event_id=the_event["webhookEventId"]).exists()


@pytest.mark.django_db
def test_line_error_status_is_logged_and_still_answers_200(client, line_api, caplog):
    line_api.status = 500
    with caplog.at_level("WARNING", logger="directory.line"):
        assert post(client, body_of(follow())).status_code == 200
    assert len(line_api.replies) == 1
    assert "LINE reply failed" in caplog.text


# --- Privacy -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_line_keeps_no_user_id(client, line_api):
    window_at("札幌くらし相談センター", latitude=43.06, longitude=141.35)
    region_id = municipality("011002").region_id
    for the_event in (
        follow(),
        postback(f"c=seikatsu&r={region_id}&m=011002"),
        postback(f"c=seikatsu&r={region_id}&a=1"),
        location(43.07, 141.35),
        text("こんにちは"),
    ):
        assert post(client, body_of(the_event)).status_code == 200
    assert len(line_api.replies) == 5
    assert SearchTally.objects.count() == 3
    assert LineDelivery.objects.count() == 5
    stored = json.dumps(
        [list(SearchTally.objects.values()), list(LineDelivery.objects.values())], default=str
    )
    assert USER_ID not in stored
    assert USER_ID[1:] not in stored
    sent = json.dumps([r["json"] for r in line_api.requests])
    assert USER_ID not in sent
