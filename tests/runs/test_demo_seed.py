"""The embedded default's demo data includes a team, a checklist and a run in progress."""

from __future__ import annotations

from graphql_api.embedded import seed_demo
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp

MINE = """
{
  me {
    assignments(first: 1) {
      nodes {
        status priority
        checklist { title }
        team { name }
        run { status progress { done total } items { itemId done value } }
      }
    }
  }
}"""


async def test_seed_demo_has_work_in_progress(isolated: IsolatedApp) -> None:
    org_id, users = await seed_demo(isolated.resources)
    member = next(u for u in users if u.sub == "demo-member")
    client = GraphQLClient(isolated.http, member.sub, member.email)
    (assignment,) = (await client.data(MINE))["me"]["assignments"]["nodes"]
    assert assignment["status"] == "IN_PROGRESS"
    assert assignment["checklist"]["title"] == "Forklift pre-shift check"
    assert assignment["team"]["name"] == "Night shift"
    run = assignment["run"]
    assert run["status"] == "IN_PROGRESS"
    assert run["progress"] == {"done": 2, "total": 5}
    answers = {i["itemId"]: (i["done"], i["value"]) for i in run["items"]}
    assert answers["brakes"] == (True, None)
    assert answers["fuel"] == (True, 80)
    assert org_id
