"""Custom search attributes that make each contact's place in a journey searchable in the Temporal UI.

They must be registered on the namespace before a workflow uses them: `register_search_attributes` does it
through the operator service (dev server, time-skipping test server, self-hosted clusters); on Temporal Cloud
register them once with `tcld` or the Cloud UI instead.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from domain.journeys.runtime import JourneyInput

SA_WORKSPACE = SearchAttributeKey.for_keyword("MaunticWorkspace")
SA_JOURNEY = SearchAttributeKey.for_keyword("MaunticJourney")
SA_VERSION = SearchAttributeKey.for_int("MaunticJourneyVersion")
SA_CONTACT = SearchAttributeKey.for_keyword("MaunticContact")
SA_STEP = SearchAttributeKey.for_keyword("MaunticStep")
# How a run ended when it did not simply complete: converted (a goal) or exited (an exit criterion, a stop).
SA_OUTCOME = SearchAttributeKey.for_keyword("MaunticOutcome")
# Set (true) when a holdout step put the contact in the control group.
SA_HOLDOUT = SearchAttributeKey.for_bool("MaunticHoldout")

ALL_SEARCH_ATTRIBUTES: list[SearchAttributeKey[str] | SearchAttributeKey[int] | SearchAttributeKey[bool]] = [
    SA_WORKSPACE,
    SA_JOURNEY,
    SA_VERSION,
    SA_CONTACT,
    SA_STEP,
    SA_OUTCOME,
    SA_HOLDOUT,
]


def initial_search_attributes(journey: JourneyInput) -> TypedSearchAttributes:
    """What the API passes when it starts a journey; the workflow itself keeps SA_STEP current."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_WORKSPACE, journey.workspace_id),
            SearchAttributePair(SA_JOURNEY, journey.journey_id),
            SearchAttributePair(SA_VERSION, journey.version),
            SearchAttributePair(SA_CONTACT, journey.contact_id),
        ]
    )


async def register_search_attributes(client: Client) -> None:
    """Register every key on the client's namespace; keys that already exist are left alone."""
    for key in ALL_SEARCH_ATTRIBUTES:
        request = AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value)},
        )
        # One key per request: a server that rejects an existing key must not hide the others.
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
