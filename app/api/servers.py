"""REST routes for servers; every route goes through its service's permission check."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["servers"])
