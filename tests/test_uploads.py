"""Images shoppers send, against the real server: checked by content, kept beside the
database, served only to the chat's shopper and its agents, never as a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.images import sniff

from conftest import Client, LiveServer, login
from images_data import FAKE_PNG, HTML, gif, jpeg_header, png, webp_vp8x


async def upload(
    server: LiveServer,
    token: str,
    data: bytes,
    *,
    name: str = "parcel.png",
    client_id: str = "img-1",
    origin: str | None = None,
    content_type: str = "image/png",
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData(quote_fields=False)  # names as browsers send them
    form.add_field("token", token)
    form.add_field("id", client_id)
    form.add_field("file", data, filename=name, content_type=content_type)
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/uploads", data=form, headers=headers) as r:
            return r.status, await r.json()


async def fetch(
    server: LiveServer, url: str, cookie: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Cookie": f"supportbot_session={cookie}"} if cookie else {}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/{url.lstrip('/')}", headers=headers) as r:
            return r.status, dict(r.headers), await r.read()


def test_images_are_known_by_their_content() -> None:
    assert sniff(png(4, 3)) is not None and sniff(png(4, 3)).width == 4  # type: ignore[union-attr]
    assert (sniff(gif()) or None) and sniff(gif()).content_type == "image/gif"  # type: ignore[union-attr]
    jpeg = sniff(jpeg_header(640, 480))
    assert jpeg is not None and (jpeg.content_type, jpeg.width, jpeg.height) == (
        "image/jpeg",
        640,
        480,
    )
    webp = sniff(webp_vp8x(300, 200))
    assert webp is not None and (webp.width, webp.height) == (300, 200)
    for fake in (
        HTML,
        FAKE_PNG,
        b"",
        b"GIF89a",
        png()[:20],
        b"\xff\xd8\xff\xda\x00\x02",
        png(0, 3),
        png(30_000, 2),
    ):
        assert sniff(fake) is None, fake[:16]


async def test_an_image_becomes_a_message_the_agent_sees_and_only_they_can_fetch(
    server: LiveServer, shopper, agent
) -> None:
    ada: Client = await agent("Ada")
    client: Client = await shopper(lang="en")
    other: Client = await shopper(lang="en")
    cid = client.start["conversation"]["id"]
    assert (await client.call("handoff", {}))["ok"]
    await ada.wait_for("assigned", lambda d: d["conversation_id"] == cid)
    await ada.call("open", {"conversation_id": cid})

    image = png(8, 6)
    status, ack = await upload(server, client.start["token"], image, name="../../etc/passwd.png")
    assert status == 200 and ack["ok"] and ack["duplicate"] is False, ack
    message = ack["message"]
    attachment = message["attachment"]
    assert message["author"] == "shopper" and message["text"] == "passwd.png"
    assert {k: attachment[k] for k in ("type", "size", "width", "height", "name")} == {
        "type": "image/png",
        "size": len(image),
        "width": 8,
        "height": 6,
        "name": "passwd.png",
    }
    assert attachment["url"].startswith(f"api/uploads/{attachment['id']}?key=")

    # the agent gets it live, without the shopper's key; the file sits in the uploads folder
    heard = await ada.wait_for("message", lambda m: m["attachment"] is not None)
    assert heard["attachment"]["url"] == f"api/uploads/{attachment['id']}"
    folder = server.settings.uploads
    assert folder == server.settings.db.parent / "test-uploads"
    stored = folder / attachment["id"][:2] / attachment["id"]
    assert stored.read_bytes() == image
    events = await server.events("attachment.received", cid)
    assert events and '"content_type":"image/png"' in events[0]["properties"]

    # the shopper's URL serves it as an image, never as a page
    status, headers, body = await fetch(server, attachment["url"])
    assert status == 200 and body == image
    assert headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["Content-Disposition"] == f'inline; filename="{attachment["id"]}.png"'
    # wrong key, no key and no session, another conversation's shopper: nothing
    assert (await fetch(server, f"/api/uploads/{attachment['id']}?key=guess"))[0] == 404
    assert (await fetch(server, f"/api/uploads/{attachment['id']}"))[0] == 401
    assert (await fetch(server, "/api/uploads/nope?key=x"))[0] == 404
    status, _, _ = await fetch(
        server, f"/api/uploads/{attachment['id']}?key=" + other.start["token"]
    )
    assert status == 404
    # the chat's agent and a manager with their session; another agent may not
    status, _, body = await fetch(server, heard["attachment"]["url"], ada.cookie)  # type: ignore[attr-defined]
    assert status == 200 and body == image
    meg = await agent("Meg", role="manager", online=False)
    assert (await fetch(server, heard["attachment"]["url"], meg.cookie))[0] == 200  # type: ignore[attr-defined]
    bob = await agent("Bob", online=False)
    assert (await fetch(server, heard["attachment"]["url"], bob.cookie))[0] == 403  # type: ignore[attr-defined]

    # the same client id again stores nothing new
    status, again = await upload(server, client.start["token"], image)
    assert status == 200 and again["duplicate"] is True
    assert again["message"]["id"] == message["id"]
    assert len(list(folder.rglob("*"))) == 2  # one sub-folder, one file


async def test_bad_uploads_are_refused_with_a_code_and_nothing_is_kept(
    start_server, connect, tmp_path: Path
) -> None:
    server: LiveServer = await start_server(
        upload_max_bytes=2000, upload_max_files=2, upload_dir=tmp_path / "pictures"
    )
    client = await connect("/chat", url=server.url)
    ack = await client.call("start", {"lang": "en"})
    token = ack["token"]

    cases = [
        (png(200, 200, (1, 2, 3)) + bytes(3000), "too big", 413, "file_too_large"),
        (b"plain text, not an image", "notes.txt", 415, "unsupported_type"),
        (HTML, "photo.png", 415, "unsupported_type"),  # HTML disguised as an image
        (FAKE_PNG, "photo.png", 415, "unsupported_type"),
    ]
    for i, (data, name, status, code) in enumerate(cases):
        got, body = await upload(server, token, data, name=name, client_id=f"bad-{i}")
        assert (got, body["ok"], body["error"]["code"]) == (status, False, code), (name, body)
    forged = "A" * 43
    got, body = await upload(server, forged, png())
    assert (got, body["error"]["code"]) == (403, "invalid_token")
    got, body = await upload(server, "not a token", png())
    assert (got, body["error"]["code"]) == (403, "invalid_token")
    got, body = await upload(server, token, png(), client_id="spaces are not ids")
    assert (got, body["error"]["code"]) == (400, "invalid_id")
    got, body = await upload(server, token, png(), origin="https://evil.example")
    assert (got, body["error"]["code"]) == (403, "forbidden")
    assert not (tmp_path / "pictures").exists() or not any((tmp_path / "pictures").rglob("*.*"))
    assert await server.query("SELECT * FROM attachments") == []

    # two fit, the third is over the count
    for i in range(2):
        got, body = await upload(server, token, gif(), name=f"{i}.gif", client_id=f"ok-{i}")
        assert got == 200, body
    got, body = await upload(server, token, gif(), client_id="ok-3")
    assert (got, body["error"]["code"]) == (409, "too_many_files")
    assert len(await server.query("SELECT * FROM attachments")) == 2
    files = [p for p in (tmp_path / "pictures").rglob("*") if p.is_file()]
    assert len(files) == 2 and not [p for p in files if p.suffix]

    # a closed chat takes none
    assert (await client.call("end", {}))["ok"]
    got, body = await upload(server, token, gif(), client_id="late")
    assert (got, body["error"]["code"]) == (409, "conversation_closed")


async def test_uploads_are_rate_limited_like_messages(start_server, connect) -> None:
    server: LiveServer = await start_server(rate_limit_messages=2)
    client = await connect("/chat", url=server.url)
    token = (await client.call("start", {"lang": "en"}))["token"]
    results = [await upload(server, token, png(), client_id=f"r-{i}") for i in range(3)]
    assert [status for status, _ in results] == [200, 200, 429]
    assert results[2][1]["error"]["code"] == "rate_limited"


async def test_the_bot_says_a_person_can_look_at_it(server: LiveServer, shopper) -> None:
    client: Client = await shopper(lang="it")
    status, ack = await upload(
        server, client.start["token"], jpeg_header(), name="pacco.jpg", content_type="image/jpeg"
    )
    assert status == 200, ack
    reply = await client.wait_for(
        "message", lambda m: m["author"] == "bot" and m["id"] > ack["message"]["id"]
    )
    assert "persona" in reply["text"]
    assert [q["type"] for q in reply["quick_replies"]] == ["handoff"]
    # the shopper's other tabs get the image too
    other = await shopper(token=client.start["token"])
    assert [m["attachment"]["name"] for m in other.start["messages"] if m["attachment"]] == [
        "pacco.jpg"
    ]


@pytest.mark.parametrize(
    "path", ["/api/uploads/" + "x" * 100, "/api/uploads/%00", "/api/uploads/..%2F..%2Fsettings.py"]
)
async def test_odd_ids_are_not_found(server: LiveServer, path: str) -> None:
    status, _, _ = await fetch(server, path + "?key=k")
    assert status == 404


async def test_the_agents_own_session_is_needed(server: LiveServer, shopper) -> None:
    await server.add_agent("ann@shop.example", "Ann")
    cookie = await login(server.url, "ann@shop.example")
    client: Client = await shopper(lang="en")
    status, ack = await upload(server, client.start["token"], png())
    url = ack["message"]["attachment"]["url"].split("?")[0]
    # Ann may not read a chat with the bot; a forged cookie is no session
    assert (await fetch(server, url, cookie))[0] == 403
    assert (await fetch(server, url, "forged"))[0] == 401


async def test_a_conversations_pictures_can_be_forgotten(server: LiveServer, shopper) -> None:
    from bot.app import UPLOADS

    client: Client = await shopper(lang="en")
    other: Client = await shopper(lang="en")
    for i, who in enumerate((client, client, other)):
        status, _ = await upload(server, who.start["token"], png(), client_id=f"f-{i}")
        assert status == 200
    uploads = server.app[UPLOADS]
    assert await uploads.forget(client.start["conversation"]["id"]) == 2
    left = await server.query("SELECT conversation_id FROM attachments")
    assert left == [{"conversation_id": other.start["conversation"]["id"]}]
    assert len([p for p in server.settings.uploads.rglob("*") if p.is_file()]) == 1


async def test_erasing_a_shopper_removes_their_pictures_rows_and_files(
    server: LiveServer, shopper
) -> None:
    """The right to erasure covers attachments: after ``supportbot privacy forget``
    neither the row nor the file of the shopper's picture is left."""
    import asyncio
    import sys

    client: Client = await shopper(lang="en", user={"email": "pia@example.com"})
    status, sent = await upload(server, client.start["token"], png(8, 8), name="pia-parcel.png")
    assert status == 200, sent
    attachment = sent["message"]["attachment"]
    stored = server.settings.uploads / attachment["id"][:2] / attachment["id"]
    assert stored.exists()
    assert (await client.call("end", {}))["ok"]
    await server.db.flush()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "privacy",
        "forget",
        "--email",
        "pia@example.com",
        "--db",
        str(server.settings.db),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "pictures       1 deleted (rows and files)" in out.decode()
    assert not stored.exists()
    assert await server.query("SELECT * FROM attachments") == []
