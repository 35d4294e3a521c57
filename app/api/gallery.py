"""REST routes for gallery; every route goes through its service's permission check."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["gallery"])
