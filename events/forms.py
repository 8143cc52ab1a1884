"""Registration forms for members and for the public.

The forms only check the input; whether a seat is free, whether registration is
open and whether the person is already registered is decided by
events.services, whose RegistrationError the views turn into form errors.
"""

from django import forms
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from core import forms as site_forms

from . import access
from .enums import RegistrationMode, RegistrationStatus
from .models import Session

QUESTION_MAX_LENGTH = 2000
YES_NO = (("yes", _("参加する")), ("no", _("参加しない")))


class ChoiceList(forms.RadioSelect):
    """Radio buttons laid out by the site's .choice-list style (large tap targets)."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "choice-list", **(attrs or {})}, choices)


class SessionChoiceField(site_forms.ModelChoiceField):
    def label_from_instance(self, session):
        left = session.seats_left
        if left is None:
            return session.title
        if left:
            return _("%(title)s（残り%(n)d席）") % {"title": session.title, "n": left}
        return _("%(title)s（満席・キャンセル待ち）") % {"title": session.title}


def sessions_with_seats(event):
    """The event's sessions with the confirmed count, for 残り N 席 labels."""
    return (
        Session.objects.filter(event=event)
        .annotate(
            taken=Count(
                "registrations", filter=Q(registrations__status=RegistrationStatus.CONFIRMED)
            )
        )
        .order_by("order", "pk")
    )


class EventChoicesForm(site_forms.PrivacyGuardMixin, site_forms.Form):
    """The part every registration asks: mode, session, 懇親会, question —
    each offered only when the event has it. The question goes through the
    privacy guard (core.privacy): what could identify a person is shown
    highlighted until it is rewritten or its author confirms; a confirmed one
    is kept from the committee until the secretariat has read it
    (Registration.question_flagged)."""

    privacy_fields = ("question",)
    privacy_confirm_help = _(
        "確認するとこのまま送信します。事務局が内容を確かめるまで、検討委員会には表示されません。"
    )

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        modes = []
        if event.offers_venue:
            modes.append((RegistrationMode.VENUE, _("会場で参加")))
        if event.offers_online:
            modes.append((RegistrationMode.ONLINE, _("オンラインで参加")))
        self.fields["mode"] = forms.ChoiceField(
            label=_("参加方法"),
            choices=modes,
            widget=ChoiceList,
            initial=modes[0][0] if len(modes) == 1 else None,
        )
        sessions = sessions_with_seats(event)
        # One query decides whether the field is shown and whether it is
        # required; the field's own choices query runs when it is rendered.
        capacities = list(sessions.values_list("capacity", flat=True))
        if capacities:
            # A session with a seat limit has to be chosen now, or its seats
            # could not be counted; without limits the choice is only a hint
            # for the organisers and may be left open.
            required = any(capacity is not None for capacity in capacities)
            self.fields["session"] = SessionChoiceField(
                label=_("分科会（テーマ別ディスカッション）"),
                queryset=sessions,
                required=required,
                empty_label=None if required else _("未定"),
                widget=ChoiceList,
                help_text=(
                    _("分科会ごとに定員があるため、参加する分科会を1つ選んでください。")
                    if required
                    else _("参加したい分科会があれば選んでください。当日決めても構いません。")
                ),
            )
        if event.has_social:
            help_text = event.social_details or ""
            if event.social_capacity is not None:
                help_text = _("%(details)s 定員%(n)d名。満席の場合はキャンセル待ちになります。") % {
                    "details": help_text,
                    "n": event.social_capacity,
                }
            self.fields["social"] = forms.TypedChoiceField(
                label=_("懇親会"),
                choices=YES_NO,
                coerce=lambda value: value == "yes",
                initial="no",
                widget=ChoiceList,
                help_text=help_text.strip(),
            )
        self.fields["question"] = forms.CharField(
            label=_("事前質問（困っていること・知りたいこと）"),
            required=False,
            max_length=QUESTION_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 5}),
            help_text=_(
                "当日の話し合いの参考にします。個人が特定できる相談内容は書かないでください。"
            ),
        )
        self.add_privacy_confirmation()

    def choices(self) -> dict:
        """Keyword arguments for the services, from cleaned_data."""
        data = self.cleaned_data
        return {
            "mode": data["mode"],
            "session": data.get("session"),
            "social": bool(data.get("social", False)),
            "question": data.get("question", ""),
        }


class RegistrationForm(EventChoicesForm):
    """A member's registration, also used to change one (without the
    organisation, which stays as registered)."""

    def __init__(self, *args, event, user, registration=None, **kwargs):
        if registration is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "mode": registration.mode,
                "session": registration.session_id,
                "social": "yes" if registration.wants_social else "no",
                "question": registration.question,
            }
        super().__init__(*args, event=event, **kwargs)
        self.organisations = []
        if registration is None:
            self.organisations = list(
                access.registering_organisations(user).order_by("kana", "name", "pk")
            )
        if len(self.organisations) > 1:
            # Plain choices over the list already read: no query per render
            # or per validation.
            field = forms.TypedChoiceField(
                label=_("どの所属として参加しますか"),
                choices=[(str(o.pk), o.name) for o in self.organisations],
                coerce=int,
                widget=ChoiceList,
                help_text=_("参加記録はこの組織の参加として数えます。"),
            )
            self.fields = {"organisation": field, **self.fields}

    def organisation(self):
        if "organisation" in self.fields:
            chosen = self.cleaned_data["organisation"]
            return next(o for o in self.organisations if o.pk == chosen)
        return self.organisations[0] if self.organisations else None


class GuestRegistrationForm(EventChoicesForm):
    """A public event's registration by someone without an account. The
    registration holds a seat only after the e-mailed link is opened."""

    full_name = forms.CharField(label=_("氏名"), max_length=80)
    full_name_kana = forms.CharField(
        label=_("氏名（かな）"), max_length=120, widget=forms.TextInput(attrs={"lang": "ja"})
    )
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        help_text=_("確認のメールを送ります。メール内のリンクを開くと申込が確定します。"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    organisation_name = forms.CharField(
        label=_("所属（団体名・部署名）"), max_length=200, required=False
    )
    # A field people never see; bots that fill every input fill this too.
    website = site_forms.HoneypotField(
        label=_("この欄は空のままにしてください"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    field_order = ["full_name", "full_name_kana", "email", "organisation_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The event fields are added after the declared ones; keep the
        # honeypot last so it sits outside the visible form.
        self.order_fields(self.field_order + ["mode", "session", "social", "question", "website"])
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
