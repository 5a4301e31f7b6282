"""What every request and answer is made of: the base models (a body refuses unknown
fields; a change needs one field at least) and the field types they share, and keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Objective = Literal["awareness", "recruitment", "loyalty", "engagement"]
Role = Literal["admin", "editor", "reviewer", "automation"]


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones this machine knows: what a `time_zone` accepts, and what the API
    document lists (component TimeZoneName: `x-component` names a component the document
    adds, pydantic would try to resolve a $ref itself)."""
    # Not zones: the host's own setting (its meaning depends on the machine) and tzdata's
    # placeholders.
    return tuple(sorted(available_timezones() - {"localtime", "posixrules", "Factory"}))


def _time_zone(name: str) -> str:
    if name not in time_zone_names():
        raise ValueError(f"unknown IANA time zone {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


# Instants every IANA zone can show (offsets run from -12 h to +14 h): beyond, a local
# time would fall outside years 1 to 9999 and no read could show it.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _representable(moment: datetime) -> datetime:
    try:
        instant = moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("outside the years 0001 to 9999 once in UTC") from exc
    if not EARLIEST <= instant <= LATEST:
        raise ValueError(
            f"must be between {EARLIEST.date().isoformat()} and {LATEST.date().isoformat()} "
            "(UTC), so that every time zone can show it"
        )
    return moment


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty or only spaces")
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


_X_POST = re.compile(
    r"^(?:https://(?:www\.)?(?:x|twitter)\.com/[^/]+/status(?:es)?/)?(\d{1,25})/?$"
)


def _x_post_id(value: str) -> str:
    match = _X_POST.match(value.strip())
    if not match:
        raise ValueError("an X post id, or its link (https://x.com/<user>/status/<id>)")
    return match.group(1)


XPost = Annotated[str, Field(max_length=300), AfterValidator(_x_post_id)]


def _link(url: HttpUrl) -> str:
    text = str(url)
    if len(text) > 2048:
        raise ValueError("links are limited to 2048 characters")
    return text


# Ids are 32-bit in the database: anything larger is a 422, not a driver error.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(gt=0, le=MAX_ID)]
# A platform name: the installed adapters' (the API document lists them, PlatformName).
PlatformName = Annotated[
    str,
    Field(min_length=1, max_length=40, examples=["x", "facebook"]),
    WithJsonSchema({"x-component": "PlatformName"}),
]
Link = Annotated[HttpUrl, AfterValidator(_link)]
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64),
    AfterValidator(_time_zone),
    WithJsonSchema({"x-component": "TimeZoneName"}),
]


def _iso_8601(value: Any) -> Any:
    """Text read as ISO 8601 only: pydantic also reads "1764561622" (or "0") as seconds since
    1970, a time no one meant. (Read here, not by pydantic: a strict model's own parser
    refuses text once a validator has seen it.)"""
    if not isinstance(value, str):
        return value
    if not _RFC_3339.fullmatch(value):  # the API document's `date-time`
        raise PydanticCustomError("datetime_parsing", "not an RFC 3339 date and time")
    try:
        return datetime.fromisoformat(value[:-1] + "Z" if value.endswith("z") else value)
    except ValueError:  # 2027-02-30
        raise PydanticCustomError("datetime_parsing", "not a date and time") from None


# RFC 3339's date-time (its offset left for the aware check to name), a space for the T.
_RFC_3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?"
)


# A point in time a client gives: with its UTC offset, and showable in every zone.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_8601), AfterValidator(_representable)]
Text = Annotated[str, Field(min_length=1, max_length=100_000), AfterValidator(_not_blank)]
ThreadPart = Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_not_blank)]
TrackingName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,40}$")]


def _placeholders(value: str) -> str:
    for name in re.findall(r"{([^{}]*)}", value):
        if name not in ("platform", "channel_id", "campaign_id"):
            raise ValueError(
                f"unknown placeholder {{{name}}}: use {{platform}}, {{channel_id}} "
                "or {campaign_id}"
            )
    return value


TrackingValue = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_placeholders)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]

_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _language(tag: str) -> str:
    """A BCP 47 language tag whose language Babel's CLDR data knows ("fr", "fr-CA",
    "en-GB"), in its usual case."""
    from babel import Locale, UnknownLocaleError

    if not _TAG.match(tag):
        raise ValueError("a BCP 47 language tag such as fr, fr-CA or en-GB")
    language, *rest = tag.split("-")
    try:
        Locale.parse(language.lower())
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"{language!r} is not a language CLDR knows") from None
    return "-".join([language.lower(), *(r.upper() if len(r) == 2 else r for r in rest)])


Language = Annotated[
    str, Field(min_length=2, max_length=35, examples=["fr", "en-GB"]), AfterValidator(_language)
]


class Input(BaseModel):
    """Every request body: unknown fields are an error, types are not coerced from strings."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _patch_schema(schema: dict[str, Any], model: type[Patch]) -> None:
    """A change's document: at least one field, and null only where it means something."""
    schema["minProperties"] = 1
    for name, prop in schema.get("properties", {}).items():
        prop.pop("default", None)
        if name in model.NULLABLE or "anyOf" not in prop:
            continue
        branches = [b for b in prop["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1:
            rest = {k: v for k, v in prop.items() if k != "anyOf"}
            prop.clear()
            prop.update({**branches[0], **rest})
        else:
            prop["anyOf"] = branches


class Patch(Input):
    """A change: the fields given are changed, the others kept; at least one is given.
    null is refused (naming the field) except in NULLABLE, where the field's description
    says what it removes."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    model_config = ConfigDict(json_schema_extra=_patch_schema)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError(f"{info.field_name} cannot be null: give a value or leave it out")
        return value

    @model_validator(mode="after")
    def _something(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(type(self).model_fields)}")
        return self


class Output(BaseModel):
    # A number JSON cannot hold (infinite, not a number) is written null, never `Infinity`.
    model_config = ConfigDict(from_attributes=True, ser_json_inf_nan="null")


# -- keys -------------------------------------------------------------------------------


class KeyCreate(Input):
    name: Name
    role: Role
    time_zone: TimeZone | None = Field(
        default=None, description="Where its holder lives: review times are shown there"
    )
    language: Language | None = Field(
        default=None,
        description="The language its holder reads (BCP 47): the review page speaks it "
        "(French or English; else the browser's Accept-Language)",
    )


class KeyUpdate(Patch):
    NULLABLE = frozenset({"time_zone", "language"})

    time_zone: TimeZone | None = Field(default=None, description="null: UTC")
    language: Language | None = Field(default=None, description="null: the browser's")


class KeyCreated(Output):
    id: int
    name: str
    role: str
    prefix: str
    time_zone: str | None = None
    language: str | None = None
    key: str = Field(description="Shown once; store it now")


class KeyRead(Output):
    id: int
    name: str
    role: str
    prefix: str
    time_zone: str | None = None
    language: str | None = None
    created_at: datetime
    revoked_at: datetime | None
