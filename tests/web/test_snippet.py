"""Serving journeys.js and journeys-sw.js: the redirect to the hashed name, the caching headers
storefronts rely on, and the size budget of the snippet."""

from __future__ import annotations

import gzip
import hashlib

from django.test import Client

from saleor_journeys.web import snippet

ASSETS = snippet.ASSETS


def _digest() -> str:
    return hashlib.sha256((ASSETS / "journeys.js").read_bytes()).hexdigest()


def test_the_tag_url_redirects_briefly_to_the_hashed_file(client: Client) -> None:
    response = client.get("/web/journeys.js")

    assert response.status_code == 302
    assert response["Location"] == f"/web/journeys.{_digest()[:12]}.js"
    assert response["Cache-Control"] == "public, max-age=300"


def test_the_hashed_file_is_the_snippet_cached_for_a_year(client: Client) -> None:
    response = client.get(client.get("/web/journeys.js")["Location"])

    assert response.status_code == 200
    assert response.content == (ASSETS / "journeys.js").read_bytes()
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"] == f'"{_digest()[:32]}"'
    # Storefronts load it from another origin, also with crossorigin="anonymous".
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_browser_with_the_file_is_told_it_has_not_changed(client: Client) -> None:
    url = client.get("/web/journeys.js")["Location"]
    etag = client.get(url)["ETag"]

    response = client.get(url, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""


def test_a_hash_that_is_not_the_current_one_is_not_found(client: Client) -> None:
    current = _digest()[:12]
    stale = "0" * 12 if current != "0" * 12 else "1" * 12
    etag = f'"{_digest()[:32]}"'

    for path in (
        f"/web/journeys.{stale}.js",
        f"/web/journeys.{_digest()}.js",  # the full hash is not the name either
        f"/web/journeys.{current[:6]}.js",
        "/web/journeys.latest.js",
    ):
        response = client.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 404, path
        assert not response.has_header("ETag"), path


def test_the_service_worker_is_served_with_a_short_cache(client: Client) -> None:
    response = client.get("/web/journeys-sw.js")

    assert response.status_code == 200
    assert response.content == (ASSETS / "journeys-sw.js").read_bytes()
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=300"
    assert response.has_header("ETag")


def test_only_get_and_head(client: Client) -> None:
    url = client.get("/web/journeys.js")["Location"]

    for path in ("/web/journeys.js", url, "/web/journeys-sw.js"):
        assert client.post(path).status_code == 405, path
        assert client.head(path).status_code in (200, 302), path


def test_the_snippet_stays_under_6_kb_gzipped() -> None:
    body = (ASSETS / "journeys.js").read_bytes()

    assert len(gzip.compress(body)) < 6144


def test_the_files_are_read_once_per_process() -> None:
    assert snippet.snippet() is snippet.snippet()
    assert snippet.snippet().body == (ASSETS / "journeys.js").read_bytes()
    assert snippet.snippet().hashed_name == f"journeys.{_digest()[:12]}.js"
