"""Links to one result that a colleague can open: /results/{id}?sig=…

The signature only proves the link was made by this installation for this result (so ids cannot be
walked by typing numbers); opening it still needs a signed-in user who may see the project.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlmodel import Session

from app.services import gallery
from app.services.security import _derived_key
from data.errors import NotFound
from data.models import GalleryItem, User

SIGNATURE_CHARS = 22  # 128 bits of the HMAC, URL-safe


def sign(item_id: int) -> str:
    digest = hmac.new(_derived_key("result-share-links"), f"result:{int(item_id)}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_CHARS]


def share_path(item_id: int) -> str:
    """The path part of a result's link; the page adds the host the browser used."""
    return f"/results/{int(item_id)}?sig={sign(item_id)}"


def is_valid(item_id: int, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(sign(item_id), str(signature))


def open_shared(session: Session, actor: User, item_id: int, signature: str | None) -> GalleryItem:
    """A good signature and the right to see the project, both; either missing reads as "no such result"."""
    if not is_valid(item_id, signature):
        raise NotFound(f"This link to result {item_id} is not valid: ask for a fresh link from the clip's results.")
    return gallery.get_item(session, actor, item_id)
