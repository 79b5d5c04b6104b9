"""Session files: audio (Range requests answer 206, so a player can seek), the score as SVG,
the plan plot as PNG, MIDI, MusicXML, the prescription and the report."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from cadence.clinic import sessions
from cadence.web.deps import ApiCaller, Db
from cadence.web.files import MEDIA_TYPES, download_name, file_response

router = APIRouter(tags=["files"])
# Every media type a session file may have, declared in the OpenAPI schema.
BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_CONTENT = dict.fromkeys(sorted(set(MEDIA_TYPES.values())), BINARY)


@router.get(
    "/sessions/{session_id}/files/{kind}",
    response_class=FileResponse,
    responses={
        200: {"content": FILE_CONTENT},
        206: {"description": "the requested byte range"},
        404: {"description": "none"},
    },
)
def session_file(session_id: int, kind: str, caller: ApiCaller, db: Db) -> FileResponse:
    """One file of a session by kind: wav, ogg, flac, mid, musicxml, svg, png (the plan)..."""
    path = sessions.session_file(db, caller.actor, session_id, kind)
    return file_response(path, kind, download_name=download_name(session_id, kind))
