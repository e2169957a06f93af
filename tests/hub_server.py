"""A small Hugging Face Hub on 127.0.0.1 for tests and manual checks: the part of the Hub's API
that huggingface_hub and Hearth call, serving real GGUF files.

- `GET /api/models?search=&filter=gguf&sort=&limit=&expand=`: model search
- `GET /api/models/<repo>[/revision/<rev>]`: model info (sha, card data, gated)
- `GET /api/models/<repo>/tree/<rev>[/<path>]`: files with sizes, git ids and LFS SHA-256
- `GET|HEAD /<repo>/resolve/<rev>/<path>`: a 302 redirect (X-Repo-Commit, X-Linked-Etag,
  X-Linked-Size) to `/cdn/<sha256>`, which serves the bytes with ETag and Range (206) support

Faults for tests (`HubServer.faults`): answer the next N requests with an error status, throttle
transfers, cut a transfer after some bytes, serve a file with one byte changed.

On its own it serves each GGUF file in a folder as the repository `local/<file name without .gguf>`:

    python tests/hub_server.py --port 8765 ~/models
    HF_ENDPOINT=http://127.0.0.1:8765 hearth models files local/SmolLM2-135M-Instruct.Q4_1
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

REVISION = "0123456789abcdef0123456789abcdef01234567"
LAST_MODIFIED = "2025-01-15T10:00:00.000Z"
_BLOCK = 1 << 20


@dataclass
class HubFile:
    """A file in a repository; its bytes are read from `source` when served."""

    path: str
    source: Path
    size: int = 0
    sha256: str = ""
    blob_id: str = ""
    pointer_size: int = 0

    def __post_init__(self) -> None:
        self.size = self.source.stat().st_size
        if not self.sha256:
            self.sha256 = _sha256(self.source)
        # Git keeps an LFS file as a small pointer; its blob id is the pointer's.
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n"
        self.pointer_size = len(pointer)
        self.blob_id = hashlib.sha1(f"blob {len(pointer)}\0{pointer}".encode()).hexdigest()


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile] = field(default_factory=dict)
    license: str = "apache-2.0"
    gated: bool = False
    downloads: int = 100
    likes: int = 10

    def add(self, path: str, source: Path) -> HubFile:
        self.files[path] = HubFile(path, Path(source))
        return self.files[path]


@dataclass
class Faults:
    """Faults the server injects; change them at any time from the test."""

    errors: list[tuple[str, int]] = field(default_factory=list)  # (path prefix, status), in order
    bytes_per_s: float = 0.0  # 0: unthrottled
    cut_after: int = 0  # close the connection once after sending this many body bytes
    corrupt: set[str] = field(default_factory=set)  # sha256 of files served with a byte changed

    def fail_next(self, count: int, status: int = 500, prefix: str = "/") -> None:
        self.errors.extend([(prefix, status)] * count)

    def take_error(self, path: str) -> int:
        for index, (prefix, status) in enumerate(self.errors):
            if path.startswith(prefix):
                del self.errors[index]
                return status
        return 0


class HubServer:
    """The server, run on a thread. `url` is the address to use as HF_ENDPOINT."""

    def __init__(self, port: int = 0, tokens: tuple[str, ...] = ()) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.faults = Faults()
        self.tokens = set(tokens)
        self.log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"hub": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add_repo(self, repo_id: str, files: dict[str, Path], **meta: Any) -> HubRepo:
        repo = HubRepo(repo_id, **meta)
        for path, source in files.items():
            repo.add(path, source)
        self.repos[repo_id] = repo
        return repo

    def file_by_sha(self, sha256: str) -> HubFile | None:
        for repo in self.repos.values():
            for file in repo.files.values():
                if file.sha256 == sha256:
                    return file
        return None

    def record(self, **entry: Any) -> None:
        with self._lock:
            self.log.append(entry)

    def requests(self, prefix: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [entry for entry in self.log if entry["path"].startswith(prefix)]

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `hub.log`
        pass

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def _dispatch(self, head: bool) -> None:
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        self.hub.record(method=self.command, path=path, range=self.headers.get("Range", ""),
                        if_range=self.headers.get("If-Range", ""))  # fmt: skip
        status = self.hub.faults.take_error(path)
        if status:
            return self._json({"error": "injected fault"}, status)
        try:
            if path == "/api/models":
                return self._search(query)
            match = re.match(r"^/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?$", path)
            if match:
                return self._model_info(match[1])
            match = re.match(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$", path)
            if match:
                return self._tree(match[1], match[3] or "")
            match = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
            if match:
                return self._resolve(match[1], match[3], head)
            match = re.match(r"^/cdn/([0-9a-f]{64})$", path)
            if match:
                return self._serve(match[1], head)
            self._json({"error": "Not found"}, 404)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- API -------------------------------------------------------------------------------

    def _search(self, query: dict[str, list[str]]) -> None:
        words = query.get("search", [""])[0].lower()
        limit = int(query.get("limit", ["1000"])[0])
        found = [r for r in self.hub.repos.values() if words in r.repo_id.lower()]
        found.sort(key=lambda r: -r.downloads)
        self._json([self._summary(repo) for repo in found[:limit]])

    def _summary(self, repo: HubRepo) -> dict[str, Any]:
        first = next((f for f in repo.files.values() if f.path.endswith(".gguf")), None)
        gguf = _gguf_summary(first.source) if first else None
        data = {
            "_id": repo.repo_id,
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "downloads": repo.downloads,
            "likes": repo.likes,
            "lastModified": LAST_MODIFIED,
            "gated": "manual" if repo.gated else False,
            "private": False,
            "sha": REVISION,
            "tags": ["gguf", f"license:{repo.license}"],
            "cardData": {"license": repo.license},
        }
        if gguf:
            data["gguf"] = gguf
        return data

    def _repo(self, repo_id: str) -> HubRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._json({"error": "Repository not found"}, 401, {"X-Error-Code": "RepoNotFound"})
        return repo

    def _model_info(self, repo_id: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        data = self._summary(repo)
        data["siblings"] = [{"rfilename": f.path} for f in repo.files.values()]
        self._json(data)

    def _tree(self, repo_id: str, folder: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        entries = []
        for file in repo.files.values():
            if folder and not file.path.startswith(folder.rstrip("/") + "/"):
                continue
            entries.append({
                "type": "file",
                "oid": file.blob_id,
                "size": file.size,
                "path": file.path,
                "lfs": {"oid": file.sha256, "size": file.size, "pointerSize": file.pointer_size},
            })  # fmt: skip
        self._json(entries)

    def _resolve(self, repo_id: str, path: str, head: bool) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        if repo.gated and self._token() not in self.hub.tokens:
            message = {"error": f"Access to model {repo_id} is restricted."}
            return self._json(message, 401 if not self._token() else 403,
                              {"X-Error-Code": "GatedRepo"})  # fmt: skip
        file = repo.files.get(path)
        if file is None:
            return self._json({"error": "Entry not found"}, 404, {"X-Error-Code": "EntryNotFound"})
        self.send_response(302)
        self.send_header("Location", f"/cdn/{file.sha256}")
        self.send_header("X-Repo-Commit", REVISION)
        self.send_header("X-Linked-Etag", f'"{file.sha256}"')
        self.send_header("X-Linked-Size", str(file.size))
        self.send_header("ETag", f'"{file.blob_id}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, sha256: str, head: bool) -> None:
        file = self.hub.file_by_sha(sha256)
        if file is None:
            return self._json({"error": "Not found"}, 404)
        etag = f'"{file.sha256}"'
        start, end = 0, file.size - 1
        partial = False
        wanted = re.match(r"^bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        if_range = self.headers.get("If-Range")
        if wanted and (if_range is None or if_range == etag):
            start = int(wanted[1])
            end = min(int(wanted[2]), file.size - 1) if wanted[2] else file.size - 1
            if start >= file.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{file.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            partial = True
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(end - start + 1))
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{file.size}")
        self.end_headers()
        if not head:
            self._send_bytes(file, start, end + 1)

    def _send_bytes(self, file: HubFile, start: int, stop: int) -> None:
        faults = self.hub.faults
        corrupt_at = file.size // 2 if file.sha256 in faults.corrupt else -1
        sent = 0
        began = time.monotonic()
        with file.source.open("rb") as stream:
            stream.seek(start)
            position = start
            while position < stop:
                block = bytearray(stream.read(min(_BLOCK if not faults.bytes_per_s else 65536,
                                                  stop - position)))  # fmt: skip
                if not block:
                    break
                if position <= corrupt_at < position + len(block):
                    block[corrupt_at - position] ^= 0xFF
                if faults.cut_after and sent + len(block) > faults.cut_after:
                    block = block[: faults.cut_after - sent]
                    faults.cut_after = 0
                    self.wfile.write(block)
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(block)
                sent += len(block)
                position += len(block)
                if faults.bytes_per_s:
                    ahead = sent / faults.bytes_per_s - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)

    # -- helpers ----------------------------------------------------------------------------

    def _token(self) -> str:
        auth = self.headers.get("Authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""

    def _json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_BLOCK * 8):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _gguf_summary(path: Path) -> dict[str, Any] | None:
    """The Hub's `gguf` field: architecture, context length, chat template (from the header)."""
    from engine.errors import ModelFileError
    from engine.gguf_info import read_header

    try:
        metadata = read_header(path).metadata
    except ModelFileError:
        return None
    arch = str(metadata.get("general.architecture", ""))
    summary = {"architecture": arch, "context_length": metadata.get(f"{arch}.context_length", 0),
               "total": int(metadata.get("general.parameter_count", 0))}  # fmt: skip
    if metadata.get("tokenizer.chat_template"):
        summary["chat_template"] = metadata["tokenizer.chat_template"]
    return summary


def serve_folder(folder: Path, port: int = 0) -> HubServer:
    """A server with each GGUF file in `folder` as the repository `local/<stem>`."""
    hub = HubServer(port)
    for path in sorted(Path(folder).glob("*.gguf")):
        hub.add_repo(f"local/{path.stem}", {path.name: path})
    return hub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder of .gguf files")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rate", type=float, default=0, help="throttle transfers to N bytes/s")
    args = parser.parse_args()
    hub = serve_folder(args.folder, args.port)
    hub.faults.bytes_per_s = args.rate
    print(f"Serving {len(hub.repos)} models at {hub.url} (HF_ENDPOINT={hub.url})", flush=True)
    for repo_id in hub.repos:
        print(f"  {repo_id}", flush=True)
    try:
        hub.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub.httpd.server_close()


if __name__ == "__main__":
    main()
