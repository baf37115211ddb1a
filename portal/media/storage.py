"""Where media files are kept: a small interface, and the one implementation used today (a folder).

Every object is named by its product and a key; a product's files sit in a folder of their
own under MEDIA_ROOT (`<MEDIA_ROOT>/<product id>/<key>`), so removing a product's media is
removing one folder, and no key of one product can name a file of another.

An object store (S3, GCS, MinIO...) would replace `FolderStore` by a class with the same four
methods: `put` uploads to `<bucket>/<product id>/<key>`, `open` streams the object (or the
serving view redirects to a short-lived signed URL after its own membership check), `exists`
asks for the object's head, `delete` removes it. Nothing else in the portal knows where
bytes live: views and jobs call `media_store()`.
"""
from __future__ import annotations

import os
import re
import tempfile
import uuid
from typing import BinaryIO, Protocol

from flask import current_app

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


class MediaStore(Protocol):
    def put(self, product_id: uuid.UUID, key: str, data: bytes) -> None: ...
    def open(self, product_id: uuid.UUID, key: str) -> BinaryIO: ...
    def exists(self, product_id: uuid.UUID, key: str) -> bool: ...
    def delete(self, product_id: uuid.UUID, key: str) -> None: ...


class FolderStore:
    """Files in a folder per product under `root`; writes are atomic (a temporary file renamed)."""

    def __init__(self, root: str):
        self.root = root

    def path(self, product_id: uuid.UUID, key: str) -> str:
        if not _KEY.match(key):
            raise ValueError("not a media key")
        return os.path.join(self.root, str(uuid.UUID(str(product_id))), key)

    def put(self, product_id, key, data: bytes) -> None:
        path = self.path(product_id, key)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)  # a reader sees the whole file or none
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def open(self, product_id, key) -> BinaryIO:
        return open(self.path(product_id, key), "rb")

    def exists(self, product_id, key) -> bool:
        return os.path.isfile(self.path(product_id, key))

    def delete(self, product_id, key) -> None:
        try:
            os.unlink(self.path(product_id, key))
        except FileNotFoundError:
            pass


def media_store() -> MediaStore:
    return FolderStore(current_app.config["MEDIA_ROOT"])


def key_for(message_id: uuid.UUID, extension: str) -> str:
    """A message's media key: its id (unique, never guessable from the customer) and an extension."""
    return f"{uuid.UUID(str(message_id)).hex}.{extension or 'bin'}"
