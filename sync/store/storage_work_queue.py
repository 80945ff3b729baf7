"""The work queue on Azure Storage Queues, in the encoding the Functions queue trigger reads.

The host's queue trigger expects base64 text by default (``extensions.queues.messageEncoding``
is ``base64``), while the SDK sends plain text unless told otherwise, so every message goes out
through ``TextBase64EncodePolicy``. Messages never expire (``time_to_live=-1``): a run waits for
each of its items, so dropping one silently would leave the run unfinished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from sync.errors import ConfigError, StoreError
from sync.models.work import MAX_MESSAGE_CHARS, WORK_QUEUE

_CONCURRENT_SENDS = 16


class StorageQueueWorkQueue:  # implements WorkQueue
    """Sends work messages to an Azure Storage queue.

    Args:
        client: The async queue client, owned by this queue from now on.
        credential: The Entra credential the client uses, closed with it (None for keys).
    """

    def __init__(
        self, client: QueueClient, *, credential: AsyncTokenCredential | None = None
    ) -> None:
        self._client = client
        self._credential = credential

    @classmethod
    def from_connection_string(cls, conn: str, queue: str = WORK_QUEUE) -> StorageQueueWorkQueue:
        """A queue reached with a storage connection string (Azurite, or an account key)."""
        try:
            client = QueueClient.from_connection_string(
                conn,
                queue,
                message_encode_policy=TextBase64EncodePolicy(),
                message_decode_policy=TextBase64DecodePolicy(),
            )
        except ValueError as exc:
            raise ConfigError(f"the storage connection string is malformed: {exc}") from exc
        return cls(client)

    @classmethod
    def from_account_url(
        cls, url: str, credential: AsyncTokenCredential, queue: str = WORK_QUEUE
    ) -> StorageQueueWorkQueue:
        """A queue at ``https://<account>.queue.core.windows.net`` reached with Entra ID."""
        client = QueueClient(
            url,
            queue,
            credential=credential,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )
        return cls(client, credential=credential)

    async def ensure_queue(self) -> None:
        """Create the queue if it does not exist yet."""
        try:
            await self._client.create_queue()
        except ResourceExistsError:
            return
        except AzureError as exc:
            raise StoreError(f"create the work queue: {exc.message}") from exc

    async def send_work(self, messages: Sequence[str]) -> None:
        """Enqueue messages, a few at a time.

        Raises:
            StoreError: A message is too long, or the queue refused one.
        """
        too_long = [m for m in messages if len(m) > MAX_MESSAGE_CHARS]
        if too_long:
            raise StoreError(f"a work message holds {len(too_long[0])} characters; at most 48 KiB")
        slots = asyncio.Semaphore(_CONCURRENT_SENDS)

        async def send(message: str) -> None:
            async with slots:
                await self._client.send_message(message, time_to_live=-1)

        try:
            await asyncio.gather(*(send(message) for message in messages))
        except AzureError as exc:
            raise StoreError(f"enqueue work: {exc.message}") from exc

    async def close(self) -> None:
        """Close the client and the credential it was built with."""
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()
