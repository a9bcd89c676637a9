"""GraphiQL is served by the service itself: every script and style it loads comes from this
origin, shipped in the package with the licences of the npm packages it came from, and its
Content-Security-Policy lets a browser fetch nothing from another host. (The browser journey,
offline, is in tests/browser/test_graphiql.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from api.graphiql import STATIC
from tests.helpers import Api


async def test_graphiql_loads_only_files_of_this_service(api: Api) -> None:
    # when
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})

    # then
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self'" in policy
    assert "https:" not in policy and "http:" not in policy
    assert "://" not in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/graphiql/graphiql.bundle.js" in assets
    assert "/static/graphiql/graphiql.bundle.css" in assets
    # and the editor's workers and font, which the bundle loads from this service
    workers = ["editor.worker.js", "json.worker.js", "graphql.worker.js", "codicon.ttf"]
    for asset in assets + [f"/static/graphiql/{name}" for name in workers]:
        served = await api.client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 0, asset
    bundle = (await api.client.get("/static/graphiql/graphiql.bundle.js")).text
    assert '"/static/graphiql/"' in bundle and ".worker.js" in bundle


async def test_the_vendored_packages_carry_their_licences_and_pinned_versions() -> None:
    # given the files that `make graphiql` builds, and the versions graphiql/package.json pins
    vendored = STATIC / "graphiql"
    pinned = json.loads((STATIC.parents[1] / "graphiql" / "package.json").read_text())

    # then every package in the bundle is listed with its version and its licence
    versions = dict(line.split() for line in (vendored / "VERSIONS").read_text().splitlines())
    for package in ("graphiql", "@graphiql/plugin-explorer", "graphql-ws", "react", "react-dom"):
        assert versions[package] == pinned["dependencies"][package], package
    assert versions["graphiql"].startswith("5.")
    licences = (vendored / "LICENSES.txt").read_text()
    for package, version in versions.items():
        assert f"\n{package} {version} (" in "\n" + licences, package
    assert licences.count("MIT License") >= 5


async def test_graphiql_opens_with_an_example_decision_and_a_header_template(api: Api) -> None:
    # when
    script = await api.client.get("/static/graphiql-start.js")

    # then
    assert script.status_code == 200
    assert "evaluateEmailLogging(email:" in script.text
    assert '{"Authorization": "Bearer ${PLACEHOLDER}"}' in script.text


async def test_graphiql_is_not_served_when_turned_off(make_api: Callable[..., Api]) -> None:
    # given
    api = make_api(graphiql=False)
    try:
        # when
        page = await api.client.get("/graphql", headers={"Accept": "text/html"})

        # then
        assert "graphiql" not in page.text.lower()
    finally:
        await api.close()


async def test_the_favicon_is_served(api: Api) -> None:
    icon = await api.client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
