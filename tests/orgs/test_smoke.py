from tests.support.factories import create_org


async def test_me_and_create_org(client_for):
    org = await create_org(client_for, roles=["ADMIN"])
    data = await org.clients["OWNER"].data(
        "{ me { userId memberships { role organization { slug } } } }"
    )
    assert data["me"]["memberships"][0]["role"] == "OWNER"
    assert data["me"]["memberships"][0]["organization"]["slug"] == org.slug
