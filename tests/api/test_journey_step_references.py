"""Publishing checks the segments and score groups the branching and contact steps name (api/journeys/
references.py), straight against the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Unprocessable
from api.journeys.references import check_references
from domain.journeys.definition import validate_definition
from store.db import create_async_db_engine, session_factory
from store.models_scoring import ScoreGroupSetting
from store.models_segments import Segment
from store.workspaces import NewWorkspace


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_db_engine(database_url)
    async with session_factory(engine)() as opened:
        yield opened
    await engine.dispose()


def journey(condition: dict[str, Any], group: str = "lead") -> dict[str, Any]:
    return {
        "trigger": {"event": "x"},
        "start": "split",
        "steps": [
            {"id": "split", "type": "split", "branches": [{"condition": condition, "next": "bump"}]},
            {"id": "bump", "type": "adjust_score", "group": group, "delta": 1},
        ],
    }


async def test_known_segments_and_score_groups_pass(session: AsyncSession, workspace: NewWorkspace) -> None:
    ws = workspace.workspace.id
    session.add(Segment(id=f"sg_{ws}", workspace_id=ws, name="vip"))
    session.add(ScoreGroupSetting(workspace_id=ws, score_group="lead"))
    await session.commit()
    condition = {"any": [{"segment": f"sg_{ws}"}, {"score": {"group": "total", "op": "gt", "value": 0}}]}

    await check_references(session, ws, validate_definition(journey(condition)))


@pytest.mark.parametrize(
    ("condition", "group", "code", "node"),
    [
        ({"segment": "sg_nowhere"}, "lead", "unknown_segment", "split"),
        ({"all": [{"score": {"group": "fit", "op": "gte", "value": 1}}]}, "lead", "unknown_score_group", "split"),
        ({"score": {"group": "lead", "op": "gte", "value": 1}}, "ghost", "unknown_score_group", "bump"),
    ],
)
async def test_an_unknown_reference_is_a_422_naming_the_node(
    session: AsyncSession, workspace: NewWorkspace, condition: dict[str, Any], group: str, code: str, node: str
) -> None:
    ws = workspace.workspace.id
    session.add(ScoreGroupSetting(workspace_id=ws, score_group="lead"))
    await session.commit()

    with pytest.raises(Unprocessable) as raised:
        await check_references(session, ws, validate_definition(journey(condition, group)))

    assert raised.value.code == code
    assert raised.value.details == {"node": node}
