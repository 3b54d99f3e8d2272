"""Images shoppers send (a damaged parcel, a wrong item): checked, stored, shown.

An image is checked by its content (``bot.images``), not its name or claimed type;
it is stored as a file in the uploads folder (``Settings.uploads``) under a random
id, and as a message of the transcript whose ``attachment`` points at it. It is
served only to the conversation's shopper (with the key their messages carry) and
to agents who may read the chat (with their session), never as anything but the
image type it was found to be (``bot.web.uploads``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bot import events as ev
from bot import images
from bot.brain import Reply, handoff_reply
from bot.chat.jobs import PERSON_WILL_READ
from bot.chat.lifecycle import Lifecycle, may_read
from bot.chat.tokens import TOKEN, token_hash
from bot.csat.service import COMMENT_MAX
from bot.errors import ClientError
from bot.ratelimit import Limits
from bot.settings import Settings
from bot.store import Database, attachments
from bot.store import conversations as convs
from bot.store.attachments import Attachment
from bot.store.clock import now_iso
from bot.store.conversations import Conversation, Message
from bot.types import DEFAULT_LANGUAGE, Status
from bot.wire import message_public

log = logging.getLogger(__name__)

# What the bot says to an image while it has the chat: it cannot look, a person can.
BOT_SAYS = {
    "en": "Thanks for the picture. I can't look at images myself, but a person from our team can.",
    "it": "Grazie per la foto. Io non posso guardare le immagini, ma una persona del nostro "
    "team sì.",
    "pl": "Dziękujemy za zdjęcie. Sam nie mogę oglądać obrazów, ale może to zrobić osoba "
    "z naszego zespołu.",
}


def limits_public(settings: Settings) -> dict[str, Any]:
    """What the widget may send (README: the ``start`` ack's ``limits``)."""
    return {
        "text": settings.max_message_length,
        "comment": COMMENT_MAX,
        "upload_bytes": settings.upload_max_bytes,
        "upload_files": settings.upload_max_files,
        "upload_types": sorted(images.TYPES),
    }


@dataclass(slots=True)
class Received:
    message: Message
    duplicate: bool
    replies: list[Message]
    conversation: Conversation


class Uploads:
    def __init__(
        self, settings: Settings, db: Database, lifecycle: Lifecycle, limits: Limits
    ) -> None:
        self.settings = settings
        self.db = db
        self.lifecycle = lifecycle
        self.limits = limits
        self.folder = settings.uploads

    def path(self, attachment_id: str) -> Path:
        return attachment_file(self.folder, attachment_id)

    async def receive(
        self, *, token: str, client_id: str, name: str, data: bytes, address: str
    ) -> dict[str, Any]:
        """Store an image the shopper holding ``token`` sent; answer like a message's ack."""
        if not TOKEN.fullmatch(token):
            raise ClientError("invalid_token")
        conversation = await self.db.read(
            partial(convs.find_by_token_hash, token_hash=token_hash(token))
        )
        if conversation is None:
            raise ClientError("invalid_token")
        if conversation.closed:
            raise ClientError("conversation_closed")
        if len(data) > self.settings.upload_max_bytes:
            raise ClientError(
                "file_too_large",
                f"The file is larger than {self.settings.upload_max_bytes} bytes.",
                limit=self.settings.upload_max_bytes,
            )
        image = images.sniff(data)
        if image is None:
            raise ClientError("unsupported_type")
        existing = await self.db.read(
            partial(
                convs.find_message_by_client_id,
                conversation_id=conversation.id,
                client_id=client_id,
                author="shopper",
            )
        )
        if existing is not None:  # sent again after a lost answer: nothing new
            return {"message": message_public(existing), "duplicate": True}
        await self.limits.check(
            (self.limits.messages, conversation.id), (self.limits.address_messages, address)
        )
        attachment = Attachment(
            id=secrets.token_urlsafe(16),
            conversation_id=conversation.id,
            message_id=None,
            content_type=image.content_type,
            size=len(data),
            width=image.width,
            height=image.height,
            sha256=hashlib.sha256(data).hexdigest(),
            name=clean_name(name, image.extension),
            shopper_key=secrets.token_urlsafe(16),
            created_at=now_iso(),
        )
        path = self.path(attachment.id)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _write_file, path, data)
        try:
            async with self.lifecycle.locks(conversation.id):
                received: Received = await self.db.write(
                    partial(
                        self._store,
                        attachment=attachment,
                        client_id=client_id,
                        limit=self.settings.upload_max_files,
                    )
                )
        except BaseException:
            await loop.run_in_executor(None, _remove_file, path)
            raise
        if received.duplicate:
            await loop.run_in_executor(None, _remove_file, path)
        else:
            await self.lifecycle.publish(received.message)
            for reply in received.replies:
                await self.lifecycle.publish(reply)
            await self.lifecycle.card_changed(received.conversation)
        name_of = await self.lifecycle.directory.name(received.message.agent_id)
        return {
            "message": message_public(received.message, name_of),
            "duplicate": received.duplicate,
        }

    def _store(
        self, conn: sqlite3.Connection, attachment: Attachment, client_id: str, limit: int
    ) -> Received:
        """Writer thread: the message, its attachment, the bot's word, the event."""
        conversation = convs.get_conversation(conn, attachment.conversation_id)
        if conversation is None or conversation.closed:
            raise ClientError("conversation_closed")
        existing = convs.find_message_by_client_id(conn, conversation.id, client_id, "shopper")
        if existing is not None:
            return Received(existing, True, [], conversation)
        if attachments.count_attachments(conn, conversation.id) >= limit:
            raise ClientError(
                "too_many_files", f"A chat takes at most {limit} images.", limit=limit
            )
        at = attachment.created_at
        meta: dict[str, Any] = {"attachment": attachment.meta()}
        if conversation.status in (Status.QUEUED, Status.TICKET):
            meta["receipt"] = PERSON_WILL_READ
        message = convs.insert_message(
            conn,
            conversation.id,
            "shopper",
            attachment.name,
            client_id=client_id,
            created_at=at,
            meta=meta,
        )
        stored = dataclasses.replace(attachment, message_id=message.id)
        attachments.insert_attachment(conn, stored)
        attachments.touch(conn, conversation.id, at)
        replies = []
        if conversation.status == Status.BOT:
            language = (
                conversation.language if conversation.language in BOT_SAYS else DEFAULT_LANGUAGE
            )
            reply = Reply(BOT_SAYS[language], {"quick_replies": [handoff_reply(language)]})
            replies.append(
                convs.insert_message(
                    conn, conversation.id, "bot", reply.text, created_at=at, meta=reply.meta
                )
            )
        ev.insert_events(
            conn,
            ev.AttachmentReceived(
                conversation_id=conversation.id,
                actor="shopper",
                created_at=at,
                message_id=message.id,
                attachment_id=stored.id,
                content_type=stored.content_type,
                size=stored.size,
            ),
        )
        after = convs.get_conversation(conn, conversation.id)
        assert after is not None
        return Received(message, False, replies, after)

    async def open(
        self, attachment_id: str, *, key: str | None, agent: tuple[int, bool] | None
    ) -> tuple[Attachment, bytes]:
        """The image and its bytes, for the shopper's ``key`` or an agent (id, manager)
        who may read the chat. ``not_found`` for a wrong key: nothing is revealed."""
        if not (0 < len(attachment_id) <= 64):
            raise ClientError("not_found")
        attachment = await self.db.read(
            partial(attachments.get_attachment, attachment_id=attachment_id)
        )
        if attachment is None:
            raise ClientError("not_found")
        if key is not None:
            if not secrets.compare_digest(key.encode(), attachment.shopper_key.encode()):
                raise ClientError("not_found")
        elif agent is None:
            raise ClientError("unauthorized")
        else:
            conversation = await self.lifecycle.get(attachment.conversation_id)
            if not may_read(agent[0], agent[1], conversation):
                raise ClientError("forbidden", "You cannot read this chat.")
        try:
            data = await asyncio.get_running_loop().run_in_executor(
                None, self.path(attachment.id).read_bytes
            )
        except OSError:
            log.warning("the file of attachment %s is missing from %s", attachment.id, self.folder)
            raise ClientError("not_found") from None
        return attachment, data

    async def forget(self, conversation_id: str) -> int:
        """Delete a conversation's pictures, rows and files (for erasing a shopper's
        data); returns how many there were. The messages that showed them stay with
        the conversation, whose own fate is the caller's."""
        ids = await self.db.write(
            partial(attachments.delete_attachments, conversation_id=conversation_id)
        )
        loop = asyncio.get_running_loop()
        for attachment_id in ids:
            await loop.run_in_executor(None, _remove_file, self.path(attachment_id))
        return len(ids)


def attachment_file(folder: Path, attachment_id: str) -> Path:
    """Where a picture's file is kept (its id is random: no name from the shopper)."""
    return folder / attachment_id[:2] / attachment_id


def remove_files(folder: Path, attachment_ids: list[str]) -> None:
    """Remove pictures' files (after their rows are gone: an erasure, a purge)."""
    for attachment_id in attachment_ids:
        if len(attachment_id) >= 2 and "/" not in attachment_id and ".." not in attachment_id:
            _remove_file(attachment_file(folder, attachment_id))


def clean_name(name: str, extension: str) -> str:
    """The file's name to show (never used as a path): printable, short, or a default."""
    base = "".join(c for c in os.path.basename(name.replace("\\", "/")) if c.isprintable())
    base = base.strip()[:120]
    return base or f"image.{extension}"


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_name(path.name + ".part")
    partial_path.write_bytes(data)
    os.replace(partial_path, path)


def _remove_file(path: Path) -> None:
    try:
        path.unlink()
        path.parent.rmdir()  # only when it is empty now
    except OSError:
        pass
