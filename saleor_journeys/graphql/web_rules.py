"""On-site message rules (``WebRule``) as the API reads and changes them, one shop at a time.

A rule shows a web template on the pages its pattern matches, to the contacts its conditions
hold for, at most ``capPerDay`` times a day per contact (``web.onsite``). The mutations fail
like the other ones (``graphql.mutations``): typed errors with a code, a message and the input
field they are about, and a refused mutation changes nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from django.db.models import QuerySet
from graphene.types.generic import GenericScalar
from graphene_django import DjangoObjectType
from pydantic import TypeAdapter, ValidationError

from saleor_journeys.graphql.mutations import Refused, TransactionalMutation
from saleor_journeys.graphql.types import principal
from saleor_journeys.journeys.conditions import Condition
from saleor_journeys.journeys.conditions import kind as condition_kind
from saleor_journeys.messaging import channels, content
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web.models import WebRule

NAME_LENGTH = WebRule._meta.get_field("name").max_length or 200
PATTERN_LENGTH = WebRule._meta.get_field("url_pattern").max_length or 500
MAX_CAP = 1000
MAX_PRIORITY = 1000
_CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


class WebRuleType(DjangoObjectType):
    id = graphene.ID(required=True, description="The rule's number in the app.")
    template = graphene.String(
        required=True, description="The web template it shows (`channel: web`)."
    )
    url_pattern = graphene.String(
        required=True,
        description="An fnmatch pattern on the page's path, e.g. `/products/*`; empty: all.",
    )
    conditions = GenericScalar(
        required=True,
        description="A journey condition on the contact (and `event.*`: the page view), as "
        "JSON; `{}`: everyone.",
    )
    cap_per_day = graphene.Int(
        required=True, description="At most this many times a day per contact; 0: no cap."
    )
    priority = graphene.Int(
        required=True, description="Higher first; one popup per page, the first that fits."
    )

    class Meta:
        model = WebRule
        name = "WebRule"
        description = "An on-site message shown by rule: where, to whom, how often."
        fields = (
            "id",
            "name",
            "template",
            "url_pattern",
            "conditions",
            "cap_per_day",
            "priority",
            "active",
            "created_at",
            "updated_at",
        )

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[WebRule], info: graphene.ResolveInfo
    ) -> QuerySet[WebRule]:
        return queryset.filter(installation=principal(info).installation)

    @staticmethod
    def resolve_id(root: WebRule, info: graphene.ResolveInfo) -> str:
        return str(root.pk)


def _rule(info: graphene.ResolveInfo, rule_id: str, *, lock: bool = False) -> WebRule | None:
    """The shop's rule with this id; None for another shop's, or an id that is not one."""
    if not str(rule_id).isdigit():
        return None
    rules = WebRule.objects.filter(installation=principal(info).installation, pk=int(rule_id))
    return (rules.select_for_update() if lock else rules).first()


class WebRuleQueries(graphene.ObjectType):
    web_rules = graphene.List(
        graphene.NonNull(WebRuleType),
        required=True,
        active=graphene.Boolean(description="Only active (true) or inactive (false) rules."),
        description="The shop's on-site message rules, highest priority first.",
    )
    web_rule = graphene.Field(
        WebRuleType,
        id=graphene.ID(required=True),
        description="The shop's rule with this id; null when there is none.",
    )

    @staticmethod
    def resolve_web_rules(
        root: None, info: graphene.ResolveInfo, active: bool | None = None
    ) -> QuerySet[WebRule]:
        rules = WebRule.objects.filter(installation=principal(info).installation)
        if active is not None:
            rules = rules.filter(active=active)
        return rules.order_by("-priority", "pk")

    @staticmethod
    def resolve_web_rule(root: None, info: graphene.ResolveInfo, id: str) -> WebRule | None:
        return _rule(info, id)


# --- how rule mutations fail ------------------------------------------------------------------


class WebRuleErrorCode(graphene.Enum):
    NOT_FOUND = "not_found"
    INVALID = "invalid"
    MISSING = "missing"
    UNKNOWN_TEMPLATE = "unknown_template"
    INVALID_CONDITION = "invalid_condition"

    class Meta:
        description = (
            "Why a rule mutation refused. NOT_FOUND: the shop has no such rule; INVALID: a "
            "field of the wrong form (the message says why); MISSING: a required field is "
            "empty; UNKNOWN_TEMPLATE: no web template has that name (or it is an email or SMS "
            "template); INVALID_CONDITION: the conditions are not a valid journey condition "
            "(the path points into them)."
        )


class WebRuleErrorType(graphene.ObjectType):
    code = WebRuleErrorCode(required=True)
    message = graphene.String(required=True)
    path = graphene.String(
        required=True,
        description="The input field it is about, e.g. `urlPattern`, or a path into the "
        "conditions, e.g. `conditions.all[1].op`.",
    )

    class Meta:
        name = "WebRuleError"
        description = "Why a rule mutation changed nothing."


def error(code: str, message: str, path: str) -> WebRuleErrorType:
    return WebRuleErrorType(code=code, message=message, path=path)


class WebRuleMutation(TransactionalMutation):
    errors = graphene.List(
        graphene.NonNull(WebRuleErrorType),
        required=True,
        description="Empty when the mutation did its work; otherwise nothing was changed.",
    )

    class Meta:
        abstract = True


def _condition_path(loc: tuple[int | str, ...], data: Any) -> str:
    """A pydantic location inside the conditions, without the union tags pydantic puts in it
    (``all.all.1.property.op`` → ``conditions.all[1].op``)."""
    path, current, tagged = "conditions", data, None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            current = current[part] if isinstance(current, list) and part < len(current) else None
        elif (
            isinstance(current, dict) and current is not tagged and condition_kind(current) == part
        ):
            tagged = current  # the union's tag, not a field
        else:
            path += f".{part}"
            current = current.get(part) if isinstance(current, dict) else None
    return path


def check_conditions(conditions: Any) -> list[WebRuleErrorType]:
    if conditions in (None, {}):
        return []
    if not isinstance(conditions, dict):
        return [error("invalid_condition", "conditions are a JSON object", "conditions")]
    try:
        _CONDITION.validate_python(conditions)
    except ValidationError as exc:
        return [
            error("invalid_condition", e["msg"], _condition_path(tuple(e["loc"]), conditions))
            for e in exc.errors()
        ]
    return []


def check_template(installation: Installation, template: str) -> list[WebRuleErrorType]:
    if not template.strip():
        return [error("missing", "a rule needs a web template", "template")]
    if content.exists(installation, template, "web"):
        return []
    other = next(
        (name for name in channels.names() if content.exists(installation, template, name)), None
    )
    if other is not None:
        message = f"{template!r} is an {other} template, not a web template"
    else:
        message = f"there is no web template {template!r}"
    return [error("unknown_template", message, "template")]


def check(installation: Installation, values: dict[str, Any]) -> list[WebRuleErrorType]:
    """What is wrong with a rule's fields, every problem at once."""
    errors = []
    name = values["name"].strip()
    if not name:
        errors.append(error("missing", "a rule needs a name", "name"))
    elif len(name) > NAME_LENGTH:
        errors.append(error("invalid", f"at most {NAME_LENGTH} characters", "name"))
    errors += check_template(installation, values["template"])
    pattern = values["url_pattern"]
    if len(pattern) > PATTERN_LENGTH:
        errors.append(error("invalid", f"at most {PATTERN_LENGTH} characters", "urlPattern"))
    elif pattern and not pattern.startswith(("/", "*")):
        errors.append(
            error(
                "invalid",
                "a pattern on the page's path starts with / or *, e.g. /products/*",
                "urlPattern",
            )
        )
    errors += check_conditions(values["conditions"])
    if not 0 <= values["cap_per_day"] <= MAX_CAP:
        errors.append(error("invalid", f"from 0 (no cap) to {MAX_CAP}", "capPerDay"))
    if not -MAX_PRIORITY <= values["priority"] <= MAX_PRIORITY:
        errors.append(error("invalid", f"from -{MAX_PRIORITY} to {MAX_PRIORITY}", "priority"))
    return errors


# --- mutations --------------------------------------------------------------------------------


FIELDS = ("name", "template", "url_pattern", "conditions", "cap_per_day", "priority", "active")


class WebRuleInput(graphene.InputObjectType):
    name = graphene.String(description="Required when creating.")
    template = graphene.String(description="A web template; required when creating.")
    url_pattern = graphene.String(description="e.g. `/products/*`; empty (default): every page.")
    conditions = GenericScalar(description="A journey condition, as JSON; `{}` (default): all.")
    cap_per_day = graphene.Int(description="Default 1; 0: no cap.")
    priority = graphene.Int(description="Default 0; higher first.")
    active = graphene.Boolean(description="Default true.")


def _values(rule: WebRule, input: Any) -> dict[str, Any]:
    """The rule's fields with the given ones changed (the others stay as they are)."""
    values = {name: getattr(rule, name) for name in FIELDS}
    for name in FIELDS:
        if input.get(name) is not None:
            values[name] = input.get(name)
    values["name"] = str(values["name"] or "")
    values["url_pattern"] = str(values["url_pattern"] or "").strip()
    values["conditions"] = values["conditions"] or {}
    return values


def _save(info: graphene.ResolveInfo, rule: WebRule, input: Any) -> WebRule:
    values = _values(rule, input)
    errors = check(principal(info).installation, values)
    if errors:
        raise Refused(errors)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.name = rule.name.strip()
    rule.save()
    return rule


class WebRuleCreate(WebRuleMutation):
    rule = graphene.Field(WebRuleType)

    class Arguments:
        input = WebRuleInput(required=True)

    class Meta:
        description = "Create an on-site message rule; every field is checked first."

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, input: Any) -> WebRuleCreate:
        rule = WebRule(installation=principal(info).installation)
        return cls(rule=_save(info, rule, input), errors=[])


class WebRuleUpdate(WebRuleMutation):
    rule = graphene.Field(WebRuleType)

    class Arguments:
        id = graphene.ID(required=True)
        input = WebRuleInput(
            required=True, description="The fields to change; the others stay as they are."
        )

    class Meta:
        description = "Change an on-site message rule."

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, id: str, input: Any) -> WebRuleUpdate:
        rule = _rule(info, id, lock=True)
        if rule is None:
            raise Refused([error("not_found", f"the shop has no web rule {id}", "id")])
        return cls(rule=_save(info, rule, input), errors=[])


class WebRuleDelete(WebRuleMutation):
    deleted = graphene.Boolean(required=True)
    refused_output: ClassVar[dict[str, Any]] = {"deleted": False}

    class Arguments:
        id = graphene.ID(required=True)

    class Meta:
        description = "Delete an on-site message rule (the messages it showed stay)."

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, id: str) -> WebRuleDelete:
        rule = _rule(info, id, lock=True)
        if rule is None:
            raise Refused([error("not_found", f"the shop has no web rule {id}", "id")])
        rule.delete()
        return cls(deleted=True, errors=[])


class WebRuleMutations(graphene.ObjectType):
    web_rule_create = WebRuleCreate.Field()
    web_rule_update = WebRuleUpdate.Field()
    web_rule_delete = WebRuleDelete.Field()
