"""Serving stored session files: the media type per kind, Range requests (206) for seeking,
and headers that keep a stored file from running as a page."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse

MEDIA_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",  # Ogg Opus, the rendition patients stream
    "mid": "audio/midi",
    "midi": "audio/midi",
    "musicxml": "application/vnd.recordare.musicxml+xml",
    "svg": "image/svg+xml",
    "png": "image/png",
    "plan": "image/png",
    "json": "application/json",
    "report": "application/json",
    "prescription": "application/json",
}
EXTENSIONS = {"report": "json", "prescription": "json", "midi": "mid"}
AUDIO = ("wav", "ogg", "flac", "opus")


def file_response(path: Path, kind: str, *, download_name: str | None = None) -> FileResponse:
    """A FileResponse that answers ``Range: bytes=a-b`` with 206 (Starlette does the ranges)."""
    headers = {
        # Patient data: never kept in a browser's or a proxy's cache (audio stayed in the cache
        # after sign-out with "private, max-age=3600", issue 17).
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    }
    return FileResponse(
        path,
        media_type=MEDIA_TYPES.get(kind, "application/octet-stream"),
        headers=headers,
        filename=download_name,
        content_disposition_type="attachment" if download_name else "inline",
    )


def download_name(session_id: int, kind: str) -> str | None:
    """Files a browser shows inline get no name; the rest download as session-N-kind.ext
    (session-1-prescription.json and session-1-report.json, never both session-1.json)."""
    if kind in (*AUDIO, "svg", "png", "plan"):
        return None
    ext = EXTENSIONS.get(kind, kind)
    return f"session-{session_id}.{ext}" if ext == kind else f"session-{session_id}-{kind}.{ext}"
