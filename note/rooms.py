"""The rooms every network has: the whole network, 自治体 only, one per
reference program, one per role. Created by migration 0002 and kept by
`ensure_default_rooms` (idempotent), which takes the models as arguments so
the migration can pass its historical ones. Meeting rooms are opened by the
secretariat (services.open_meeting_room)."""

from __future__ import annotations

from .enums import RoomKind, RoomRole

NETWORK_ROOM = {
    "name": "ネットワーク全体",
    "description": "ネットワークの誰もが読めて書ける部屋です。わからないことは、どんな小さなことでもどうぞ。",
    "order": 0,
}
MUNICIPAL_ROOM = {
    "name": "自治体のみ",
    "description": "自治体の職員（市・町村・振興局・道庁）だけが読めて書ける部屋です。",
    "order": 10,
}
ROLE_ROOMS = {
    RoomRole.CHIEF: {
        "name": "主任相談支援員の部屋",
        "description": "主任相談支援員どうしで、スーパーバイズや難しいケースの進め方を話す部屋です。",
        "order": 200,
    },
    RoomRole.NEWCOMER: {
        "name": "初任者の部屋",
        "description": "経験3年未満の支援員どうしで、はじめての「わからない」を気軽に聞ける部屋です。",
        "order": 210,
    },
}
PROGRAM_ROOM_ORDER = 100


def ensure_default_rooms(*, Room, Program) -> int:
    """Create the rooms that are missing; returns how many were created."""
    created = 0
    for kind, spec in ((RoomKind.NETWORK, NETWORK_ROOM), (RoomKind.MUNICIPAL, MUNICIPAL_ROOM)):
        _room, made = Room.objects.get_or_create(kind=kind, defaults=spec)
        created += made
    for program in Program.objects.order_by("order", "pk"):
        _room, made = Room.objects.get_or_create(
            kind=RoomKind.PROGRAM,
            program=program,
            defaults={
                "name": program.common_name,
                "description": f"{program.common_name}に関わる人どうしの部屋です。",
                "order": PROGRAM_ROOM_ORDER + program.order,
            },
        )
        created += made
    for role, spec in ROLE_ROOMS.items():
        _room, made = Room.objects.get_or_create(kind=RoomKind.ROLE, role=role, defaults=spec)
        created += made
    return created
