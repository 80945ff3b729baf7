from __future__ import annotations

from datetime import timedelta

import httpx


async def _accepted(app):
    response = await app.call(
        "start_mapping_sync", "POST", "sync/CUSTOMER", route={"mapping": "CUSTOMER"}
    )
    assert response.status == 202
    return response.headers["Location"]


async def test_status_answers_202_with_fresh_link_while_run_is_running(app):
    location = await _accepted(app)
    response = await app.poll(location)
    assert response.status == 202
    assert response.body["status"] == "running"
    assert response.headers["Location"].startswith("https://sync.example.net/api/runs/")
    assert response.headers["Retry-After"] == "10"


async def test_status_answers_403_when_signature_is_tampered(app):
    location = await _accepted(app)
    signature = httpx.URL(location).params["sig"]
    tampered = "A" + signature[1:] if signature[0] != "A" else "B" + signature[1:]
    response = await app.poll(location, sig=tampered)
    assert response.status == 403
    assert response.error_code == "invalid_signature"


async def test_status_answers_403_when_link_is_used_for_another_company(app):
    location = await _accepted(app)
    response = await app.poll(location, company="00000000-0000-4000-8000-000000000000")
    assert response.status == 403


async def test_status_answers_403_when_expiry_is_extended_by_hand(app):
    location = await _accepted(app)
    expires = int(httpx.URL(location).params["exp"])
    response = await app.poll(location, exp=str(expires + 3600))
    assert response.status == 403


async def test_status_answers_401_when_link_expired(app):
    location = await _accepted(app)
    app.link_clock.offset = timedelta(hours=2)
    response = await app.poll(location)
    assert response.status == 401
    assert response.error_code == "link_expired"


async def test_status_answers_403_when_link_is_not_signed(app):
    location = await _accepted(app)
    url = httpx.URL(location)
    response = await app.call(
        "get_run_status",
        "GET",
        "x",
        route={"id": url.path.split("/")[-2]},
        params={"company": url.params["company"]},
    )
    assert response.status == 403
