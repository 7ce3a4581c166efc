"""The send path's company lookup (store.contacts.company_fields) feeds the render context, per workspace."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.content.preview import preview_context, render_fields
from store.contacts import company_fields
from store.models import Contact
from store.models_companies import Company
from tests.conftest import new_workspace


async def test_company_of_a_contact_renders_in_its_templates(
    db: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    ws = (await new_workspace(database_url)).workspace.id
    other = (await new_workspace(database_url)).workspace.id
    async with db() as session:
        session.add(Company(id="co_ctx_" + ws, workspace_id=ws, name="Acme", attributes={"plan": "enterprise"}))
        session.add(Company(id="co_ctx_" + other, workspace_id=other, name="Foreign"))
        linked = Contact(id="ct_l_" + ws, workspace_id=ws, email="a@x.test", company_id="co_ctx_" + ws)
        loose = Contact(id="ct_n_" + ws, workspace_id=ws, email="b@x.test")
        stray = Contact(id="ct_s_" + ws, workspace_id=ws, email="c@x.test", company_id="co_ctx_" + other)
        session.add_all([linked, loose, stray])
        await session.commit()
        company = await company_fields(session, linked)
        assert company is not None
        assert company["name"] == "Acme"
        rendered = render_fields(
            {"text": "{{ company.name }}/{{ company.attributes.plan }}"}, preview_context({}, company)
        )
        assert rendered == {"text": "Acme/enterprise"}
        assert await company_fields(session, loose) is None
        assert await company_fields(session, stray) is None  # another workspace's company is never read
