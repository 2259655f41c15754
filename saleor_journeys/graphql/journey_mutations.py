"""Changing journeys through the API: the services of ``journeys.versions`` behind typed errors
(see ``journey_errors.JourneyMutation``)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from graphene.types.generic import GenericScalar

from saleor_journeys.core import clock
from saleor_journeys.graphql.journey_errors import (
    JourneyMutation,
    Refused,
    definition_arg,
    error,
    from_journey_error,
    from_problems,
    journey_for,
)
from saleor_journeys.graphql.journey_simulation import JourneySimulate
from saleor_journeys.graphql.journeys import JourneyType, JourneyVersionType
from saleor_journeys.graphql.types import principal
from saleor_journeys.journeys import builtin, enrolment, versions
from saleor_journeys.journeys.definition import validate

MAX_ENROLL = 1000


class JourneyCreateInput(graphene.InputObjectType):
    slug = graphene.String(description="Default: from the name (or the template's name).")
    definition = GenericScalar(description="The draft, as JSON. Give this or `template`.")
    template = graphene.String(
        description="A built-in journey to start from: " + ", ".join(builtin.NAMES) + "."
    )
    parameters = GenericScalar(
        description='With `template`: its timings and amounts, e.g. `{"answer_within": "3d"}`; '
        "the others keep their defaults."
    )


class JourneyCreate(JourneyMutation):
    journey = graphene.Field(JourneyType)

    class Arguments:
        input = JourneyCreateInput(required=True)

    class Meta:
        description = "Create a journey as a draft; it enrols no one until it is published."

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, input: Any) -> JourneyCreate:
        slug = input.get("slug") or ""
        definition, template = input.get("definition"), input.get("template")
        if (definition is None) == (template is None):
            raise Refused([error("invalid", "give either a definition or a template", "template")])
        parameters = input.get("parameters") or {}
        if parameters and template is None:
            raise Refused([error("invalid", "parameters go with a template", "parameters")])
        if not isinstance(parameters, dict):
            raise Refused([error("invalid", "parameters are a JSON object", "parameters")])
        if template is not None:
            try:
                definition = builtin.load(template, parameters)
            except KeyError as exc:
                raise Refused([error("not_found", str(exc.args[0]), "template")]) from exc
            except builtin.TemplateError as exc:
                raise Refused([error("invalid", str(exc), "parameters")]) from exc
            slug = slug or template
        try:
            journey = versions.create(
                principal(info).installation,
                definition_arg(definition),
                actor=principal(info).actor,
                slug=slug,
            )
        except versions.JourneyError as exc:
            raise Refused(from_journey_error(exc, "slug")) from exc
        return cls(journey=journey, errors=[])


class JourneyUpdate(JourneyMutation):
    journey = graphene.Field(JourneyType)

    class Arguments:
        slug = graphene.String(required=True)
        definition = GenericScalar(required=True)

    class Meta:
        description = "Replace the draft. Runs follow published versions, so none is affected."

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, slug: str, definition: Any) -> JourneyUpdate:
        journey = journey_for(info, slug)
        try:
            versions.update_draft(journey, definition_arg(definition), actor=principal(info).actor)
        except versions.JourneyError as exc:
            raise Refused(from_journey_error(exc, "slug")) from exc
        return cls(journey=journey, errors=[])


class JourneyValidate(JourneyMutation):
    valid = graphene.Boolean(required=True)
    refused_output: ClassVar[dict[str, Any]] = {"valid": False}

    class Arguments:
        definition = GenericScalar(required=True)

    class Meta:
        description = "Check a definition without saving it; `errors` lists every problem."

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, definition: Any) -> JourneyValidate:
        problems = validate(definition).problems
        return cls(valid=not problems, errors=from_problems(problems))


class JourneyPublish(JourneyMutation):
    journey = graphene.Field(JourneyType)
    version = graphene.Field(JourneyVersionType)

    class Arguments:
        slug = graphene.String(required=True)

    class Meta:
        description = (
            "Publish the draft as the next version; the first publication makes it ACTIVE. "
            "A draft with problems is refused with every problem."
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, slug: str) -> JourneyPublish:
        journey = journey_for(info, slug)
        try:
            version = versions.publish(journey, actor=principal(info).actor)
        except versions.JourneyError as exc:
            raise Refused(from_journey_error(exc, "slug")) from exc
        return cls(journey=journey, version=version, errors=[])


class _Transition(JourneyMutation):
    journey = graphene.Field(JourneyType)
    action: ClassVar[str]

    class Meta:
        abstract = True

    class Arguments:
        slug = graphene.String(required=True)

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, slug: str) -> Any:
        journey = journey_for(info, slug)
        try:
            versions.transition(journey, cls.action, actor=principal(info).actor)
        except versions.JourneyError as exc:
            raise Refused(from_journey_error(exc, "slug")) from exc
        return cls(journey=journey, errors=[])


class JourneyPause(_Transition):
    action = "pause"

    class Meta:
        description = "ACTIVE → PAUSED: no one new enters; runs already in it carry on."


class JourneyResume(_Transition):
    action = "resume"

    class Meta:
        description = "PAUSED → ACTIVE."


class JourneyArchive(_Transition):
    action = "archive"

    class Meta:
        description = "DRAFT, ACTIVE or PAUSED → ARCHIVED: it can no longer be edited or published."


class EnrollmentRefusalCode(graphene.Enum):
    INVALID_EMAIL = "invalid_email"
    UNKNOWN_CONTACT = "unknown_contact"
    ALREADY_IN_JOURNEY = "already_in_journey"
    REENTRY_NOT_ALLOWED = "reentry_not_allowed"
    JOURNEY_NOT_ACTIVE = "journey_not_active"


class EnrollmentRefusal(graphene.ObjectType):
    email = graphene.String(required=True, description="As it was given.")
    code = EnrollmentRefusalCode(required=True)
    message = graphene.String(required=True)

    class Meta:
        description = "An email whose contact was not enrolled, and why."


class JourneyEnroll(JourneyMutation):
    enrolled = graphene.Int(required=True, description="How many runs were started.")
    refused = graphene.List(graphene.NonNull(EnrollmentRefusal), required=True)
    refused_output: ClassVar[dict[str, Any]] = {"enrolled": 0, "refused": []}

    class Arguments:
        slug = graphene.String(required=True)
        emails = graphene.List(
            graphene.NonNull(graphene.String),
            required=True,
            description=f"The contacts' email addresses, at most {MAX_ENROLL}.",
        )

    class Meta:
        description = (
            "Enrol contacts of the shop by email, by hand or in bulk, as far as the journey's "
            "entry rules allow. A refused email is not an error: it is listed in `refused`."
        )

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, slug: str, emails: list[str]) -> JourneyEnroll:
        if len(emails) > MAX_ENROLL:
            raise Refused([error("invalid", f"at most {MAX_ENROLL} emails at once", "emails")])
        journey = journey_for(info, slug)
        errors = []
        if not enrolment.is_open(journey):
            errors.append(
                error("invalid_status", f"a journey that is {journey.status} enrols no one", "slug")
            )
        actor = principal(info).actor
        result = enrolment.enroll_emails(
            journey, emails, now=clock.now(), trigger_key=f"manual:{actor}"[:128]
        )
        return cls(
            enrolled=len(result.runs),
            refused=[
                EnrollmentRefusal(email=r.email, code=r.code, message=r.message)
                for r in result.refused
            ],
            errors=errors,
        )


class JourneyMutations(graphene.ObjectType):
    journey_create = JourneyCreate.Field()
    journey_update = JourneyUpdate.Field()
    journey_validate = JourneyValidate.Field()
    journey_publish = JourneyPublish.Field()
    journey_pause = JourneyPause.Field()
    journey_resume = JourneyResume.Field()
    journey_archive = JourneyArchive.Field()
    journey_enroll = JourneyEnroll.Field()
    journey_simulate = JourneySimulate.Field()
