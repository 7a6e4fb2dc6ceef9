"""The only way a PDF may load anything: ``data:`` URLs and the portal's own static files.

WeasyPrint's default fetcher follows any URL in the document (http, https, file, ftp, with
redirects). A care plan holds text written by patients and carers; even though templates
escape it, the renderer must never be able to reach the network or read a file outside
``static/`` (server-side request forgery, ``<link rel="attachment" href="file:///etc/passwd">``
embedding a server file in the PDF). Every ``HTML`` and ``CSS`` object gets this fetcher.
"""

import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import DataHandler, Request, url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse


class FetchRefused(ValueError):
    """A URL the PDF renderer is not allowed to load."""


class StaticOnlyFetcher(URLFetcher):
    """Serves ``data:`` URLs and regular files inside ``static_folder``; refuses the rest.

    A refusal raises, so WeasyPrint leaves the resource out (and logs a warning). File paths
    are resolved to their real path first, so ``..`` segments and symbolic links cannot leave
    the static folder. Nothing is ever fetched over a network and no redirect is followed.
    """

    def __init__(self, static_folder: str | os.PathLike):
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self.root = Path(os.path.realpath(static_folder))

    @property
    def base_url(self) -> str:
        """Base URL for documents, so ``css/pdf.css`` names a file under ``static/``."""
        return self.root.as_uri() + "/"

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme, _, _ = url.partition(":")
        scheme = scheme.lower()
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            return self._static_file(url)
        raise FetchRefused(f"PDF resources may only come from static files: {url[:80]}")

    def _data(self, url: str) -> URLFetcherResponse:
        try:
            # Only the data: handler is used: it decodes the URL itself, no I/O at all.
            response = DataHandler().data_open(Request(url))  # noqa: S310
        except ValueError as error:
            raise FetchRefused(f"Malformed data URL: {error}") from None
        headers = {"Content-Type": response.headers.get("Content-Type", "text/plain")}
        return URLFetcherResponse(url, response.read(), headers)

    def _static_file(self, url: str) -> URLFetcherResponse:
        path = self.static_path(url)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type == "text/css":
            media_type = "text/css; charset=utf-8"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})

    def static_path(self, url: str) -> Path:
        """The real path of a ``file:`` URL, if it names a regular file inside ``static/``."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise FetchRefused(f"Not a local file URL: {url[:80]}")
        raw = url2pathname(unquote(parts.path))
        if ".." in Path(raw).parts:
            raise FetchRefused(f"Path escapes the static folder: {url[:80]}")
        real = Path(os.path.realpath(raw))
        if not real.is_relative_to(self.root) or not real.is_file():
            raise FetchRefused(f"Not a static file of the portal: {url[:80]}")
        return real
