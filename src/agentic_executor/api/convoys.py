"""``GET /api/agentic/convoys/{id}`` (and the seed's ``/convoys/{id}``): each task and the shared pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from agentic_executor.api.auth import Principal, Reader
from agentic_executor.api.deps import base_url, get_app
from agentic_executor.api.errors import documented
from agentic_executor.api.schemas import ID_PATTERN, ConvoyStatus
from agentic_executor.views import convoy_status

router = APIRouter(tags=["convoys"], responses=documented(401, 403, 404, 413, 422, 503))
ConvoyId = Annotated[str, Path(pattern=ID_PATTERN, description="A convoy id (convoy_…).")]


def _status(request: Request, convoy_id: str, principal: Principal) -> dict[str, Any]:
    report = convoy_status(get_app(request), convoy_id, tenant=principal.tenant, base_url=base_url(request))
    return report


@router.get("/api/agentic/convoys/{convoy_id}", response_model=ConvoyStatus)
def get_convoy(request: Request, convoy_id: ConvoyId, principal: Reader) -> dict[str, Any]:
    """Each task's status and budget, and the shared pool (consumed includes calls in flight).
    A convoy is ``completed`` when every task has ended."""
    return _status(request, convoy_id, principal)


@router.get("/convoys/{convoy_id}", response_model=ConvoyStatus, summary="Get Convoy (the seed's statusUrl)")
def get_convoy_seed_url(request: Request, convoy_id: ConvoyId, principal: Reader) -> dict[str, Any]:
    """The ``statusUrl`` that ``POST /api/agentic/convoy`` returns. A browser (``Accept: text/html``
    first) is sent to the dashboard's page for the convoy instead (303)."""
    return _status(request, convoy_id, principal)
