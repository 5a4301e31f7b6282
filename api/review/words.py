"""The review page's words in the reviewer's language (their key's, else the browser's
Accept-Language): English and French. What the engine and the adapters say in structured
form (findings, a network's problems, link refusals) is said here in those words; the
rest of the engine's messages (a refusal's reason) stay in English."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_timezone_location
from babel.numbers import format_decimal
from flask import g, request

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Review",
        "invalid": "This link cannot be used",
        "nothing": "Nothing to decide here",
        "no_longer": "This post no longer waits for review: where each channel stands is below.",
        "campaign": "Campaign",
        "author": "Written by",
        "other_channels": "Its other channels",
        "not_yours": "Your vote does not count here (you voted already, or wrote this post).",
        "nothing_for_you": "Nothing of this post waits for your vote.",
        "applies_to": "Your decision applies to the {n} channels above.",
        "confirm_approved": "Your approval is recorded",
        "confirm_changes": "Your request for changes is recorded",
        "outcome_scheduled": "approved: it goes out {when}.",
        "outcome_refused": "not recorded: {reason}",
        "recorded_for": "Recorded for {n} channels:",
        "back": "Back to the post",
        "link_invalid": "This review link is not valid: ask for a new one.",
        "link_other_key": "This review link was made by another key: make your own.",
        "link_expired": "This review link expired on {when}: ask for a new one.",
        "link_revoked": "The access this link votes with was revoked.",
        "stale": "The post changed while this page was open: revision {current} is under "
        "review now. Read it again below, then decide.",
        "nobody": "someone",
        "finding_banned_terms": "contains “{term}”, a term the house rules ban",
        "finding_required_terms": "does not contain “{term}”, which the house rules require",
        "finding_max_hashtags": "{count} hashtags, more than the {limit} the house rules allow",
        "finding_max_mentions": "{count} mentions, more than the {limit} the house rules allow",
        "unit_characters": "characters",
        "unit_weighted_characters": "characters (as X counts them)",
        "colon": ":",
        "goes_out": "Goes out on",
        "decide_by": "decide by",
        "when": "{day} at {time}, {zone}",
        "zone_time": "{city} time",
        "zone_time_vowel": "{city} time",
        "utc_time": "UTC",
        "field_text": "Text",
        "field_link": "Link",
        "field_thread": "Thread",
        "field_media": "Media",
        "field_variants": "Variants",
        "field_quote_of": "Quoted post",
        "revision": "revision",
        "recurring": "recurring: this decision covers {n} occurrences",
        "alt_text": "Alt text",
        "link": "Link",
        "leads_to": "leads to",
        "house_rule": "House rule",
        "changed_since": "Changed since revision",
        "approvals": "Approvals",
        "of": "of",
        "still_needed": "still needed",
        "earlier": "earlier",
        "discussion": "Discussion",
        "comment": "Comment (required to request changes)",
        "approve": "Approve",
        "request_changes": "Request changes",
        "incomplete": "the form was not complete: reload the page",
        "nul": "the comment holds a NUL character, which cannot be stored: remove it",
        "comment_required": "say what should change: a comment is required",
        "recorded_waiting": "Your approval is recorded; still needed: {missing}",
        "recorded": "Recorded: the publication is now {status}.",
        "approved": "approved",
        "changes_requested": "changes requested",
        "rejected": "rejected",
        **{
            s: s.replace("_", " ")
            for s in (
                "draft",
                "in_review",
                "scheduled",
                "queued",
                "publishing",
                "published",
                "failed",
                "unknown",
                "cancelled",
                "expired",
                "paused",
                "deleted",
            )
        },
    },
    "fr": {
        "title": "Relecture",
        "invalid": "Ce lien ne peut pas être utilisé",
        "nothing": "Rien à décider ici",
        "no_longer": "Cette publication n’attend plus de relecture : où en est chaque canal, "
        "ci-dessous.",
        "campaign": "Campagne",
        "author": "Rédigée par",
        "other_channels": "Ses autres canaux",
        "not_yours": "Votre vote ne compte pas ici (vous avez déjà voté, ou vous l’avez rédigée).",
        "nothing_for_you": "Rien dans cette publication n’attend votre vote.",
        "applies_to": "Votre décision vaut pour les {n} canaux ci-dessus.",
        "confirm_approved": "Votre approbation est enregistrée",
        "confirm_changes": "Votre demande de modifications est enregistrée",
        "outcome_scheduled": "approuvée : elle part le {when}.",
        "outcome_refused": "non enregistré : {reason}",
        "recorded_for": "Enregistré pour {n} canaux :",
        "back": "Revenir à la publication",
        "link_invalid": "Ce lien de relecture n’est pas valide : demandez-en un nouveau.",
        "link_other_key": "Ce lien de relecture a été créé par une autre clé : créez le vôtre.",
        "link_expired": "Ce lien de relecture a expiré le {when} : demandez-en un nouveau.",
        "link_revoked": "L’accès avec lequel ce lien vote a été révoqué.",
        "stale": "La publication a changé pendant que cette page était ouverte : la version "
        "{current} est maintenant en relecture. Relisez-la ci-dessous, puis décidez.",
        "nobody": "quelqu’un",
        "finding_banned_terms": "contient « {term} », un terme que les règles maison interdisent",
        "finding_required_terms": "ne contient pas « {term} », que les règles maison exigent",
        "finding_max_hashtags": "{count} hashtags, plus que les {limit} permis par les règles "
        "maison",
        "finding_max_mentions": "{count} mentions, plus que les {limit} permises par les règles "
        "maison",
        "unit_characters": "caractères",
        "unit_weighted_characters": "caractères (comptés comme X les compte)",
        "problem_too_many_parts": "{count} parties ; un fil sur {platform} en compte au plus "
        "{limit}",
        "problem_empty_text": "le texte est vide",
        "problem_too_long": "{length} {unit} pour {limit} permis sur {platform}",
        "problem_no_link": "une publication {platform} ne peut pas porter de lien",
        "problem_no_video": "une publication {platform} ne peut pas (encore) porter de vidéo",
        "problem_no_gif": "une publication {platform} ne peut pas porter de GIF",
        "problem_no_images": "une publication {platform} ne peut pas porter d’images",
        "problem_needs_image": "une publication {platform} demande au moins une image",
        "problem_media_alone": "une vidéo ou un GIF part seul sur {platform} : cette "
        "publication a {count} fichiers",
        "problem_too_many_images": "{count} images ; {platform} en prend au plus {limit}",
        "problem_media_type": "fichier {file} ({type}) : {platform} ne prend pas ce type",
        "problem_media_size": "fichier {file} ({type}) : {size_mb} Mo ; {platform} prend au "
        "plus {limit_mb} Mo",
        "problem_video_length": "fichier {file} ({type}) : {seconds} s ; {platform} prend au "
        "plus {limit} s",
        "problem_quote_with_media": "une citation sur {platform} ne peut pas porter de médias : "
        "retirez les médias ou la citation (une variante X peut n’en porter aucun)",
        "problem_too_many_hashtags": "{count} hashtags ; {platform} en prend au plus {limit}",
        "problem_not_installed": "plateforme non installée",
        "part_of": " (partie {number} sur {total})",
        "colon": "\u00a0:",
        "goes_out": "Part le",
        "decide_by": "à décider avant le",
        "when": "{day} à {time}, {zone}",
        "zone_time": "heure de {city}",
        "zone_time_vowel": "heure d’{city}",
        "utc_time": "temps universel (UTC)",
        "field_text": "Texte",
        "field_link": "Lien",
        "field_thread": "Fil",
        "field_media": "Médias",
        "field_variants": "Variantes",
        "field_quote_of": "Publication citée",
        "revision": "version",
        "recurring": "récurrente : cette décision vaut pour {n} occurrences",
        "alt_text": "Texte alternatif",
        "link": "Lien",
        "leads_to": "mène à",
        "house_rule": "Règle maison",
        "changed_since": "Modifié depuis la version",
        "approvals": "Approbations",
        "of": "sur",
        "still_needed": "il manque encore",
        "earlier": "antérieure",
        "discussion": "Discussion",
        "comment": "Commentaire (obligatoire pour demander des modifications)",
        "approve": "Approuver",
        "request_changes": "Demander des modifications",
        "incomplete": "le formulaire était incomplet : rechargez la page",
        "nul": "le commentaire contient un caractère NUL, impossible à enregistrer : retirez-le",
        "comment_required": "dites ce qui doit changer : un commentaire est obligatoire",
        "recorded_waiting": "Votre approbation est enregistrée ; il manque encore : {missing}",
        "recorded": "Enregistré : la publication est maintenant {status}.",
        "approved": "approuvée",
        "changes_requested": "modifications demandées",
        "draft": "brouillon",
        "in_review": "en revue",
        "scheduled": "programmée",
        "queued": "en file d'envoi",
        "publishing": "en cours d'envoi",
        "published": "publiée",
        "failed": "en échec",
        "unknown": "à vérifier auprès de la plateforme",
        "cancelled": "annulée",
        "expired": "expirée",
        "paused": "en pause",
        "deleted": "retirée",
        "rejected": "refusée",
    },
}


def language() -> str:
    """The reviewer's language among those the page speaks: their key's (`use_key_language`),
    else the browser's Accept-Language, else English."""
    preferred = g.get("key_language")
    if preferred and (base := preferred.split("-")[0]) in WORDS:
        return base
    return request.accept_languages.best_match(list(WORDS), default="en")


def use_key_language(tag: str | None) -> None:
    """Speak the language set on the reviewer's key (when the page speaks it)."""
    g.key_language = tag


def words() -> dict[str, str]:
    return WORDS[language()]


def link_refusal(exc) -> str:
    """Why a review link opens nothing, in the reviewer's language."""
    reason = exc.extra.get("reason", "invalid")
    when_ = exc.extra.get("expired_at")
    text = words().get(f"link_{reason}", exc.detail)
    return text.format(when=when(when_, "UTC")) if when_ else text


def refusal(exc) -> str:
    """A vote refused, in the reviewer's language where the page knows the case."""
    if exc.code == "stale_revision":
        return words()["stale"].format(current=exc.extra.get("current_revision", "?"))
    return exc.detail


def shown(value) -> str:
    """A changed field's value for a person (media, variants): no Python or JSON syntax."""
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, list):
        return "; ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {shown(v)}" for k, v in value.items())
    return str(value)


def finding(found: dict) -> str:
    """A content rule's finding as a sentence in the reviewer's language."""
    template = words().get(f"finding_{found['rule']}")
    return template.format(**found) if template else found["detail"]


def problem_said(problem: str) -> str:
    """Why content cannot go out on a network (an adapter's `Problem`), in the reviewer's
    language: its English sentence where the page has no words for it."""
    key = getattr(problem, "key", None)
    w = words()
    template = w.get(f"problem_{key}") if key else None
    if template is None:
        return str(problem)
    lang = language()
    values = {
        name: format_decimal(value, "#,##0.#", locale=lang) if isinstance(value, float) else value
        for name, value in problem.params.items()
    }
    if "unit" in values:
        values["unit"] = w.get(f"unit_{values['unit'].replace(' ', '_')}", values["unit"])
    said = template.format(**values)
    if values.get("part") is not None:
        said += w["part_of"].format(number=values["part"], total=values["parts"])
    return said


def when(instant: datetime | str, time_zone: str) -> str:
    """`instant` as a reader says it, in the reviewer's language and `time_zone`:
    "lundi 30 novembre 2026 à 09:00, heure de Paris", "Monday 30 November 2026 at 09:00,
    Paris time" (Babel's names of days, months and cities)."""
    lang, w = language(), words()
    moment = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    try:
        zone = ZoneInfo(time_zone)
        local = moment.astimezone(zone)
    except (KeyError, ValueError, OverflowError):
        zone, time_zone, local = ZoneInfo("UTC"), "UTC", moment.astimezone(UTC)
    day = format_datetime(local, "EEEE d MMMM y", tzinfo=zone, locale=lang)
    clock = format_datetime(local, "HH:mm", tzinfo=zone, locale=lang)
    if time_zone in ("UTC", "Etc/UTC"):
        where = w["utc_time"]
    else:
        city = get_timezone_location(zone, locale=lang, return_city=True)
        vowel = city[:1].lower() in "aeiouyàâéèêëîïôûüh"
        where = w["zone_time_vowel" if vowel else "zone_time"].format(city=city)
    return w["when"].format(day=day, time=clock, zone=where)
