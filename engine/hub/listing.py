"""What the Hub has: repositories with GGUF files (search), and one repository's GGUF models.

Split files (`-00001-of-00003.gguf`) are grouped into one model; vision projectors (`mmproj-*`)
are left out, as they are not chat models on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.gguf_split import split_name
from engine.hub.connection import HubConnection, HubError
from engine.hub.quants import quality_rank, quant_from_name

SEARCH_LIMIT = 20
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


@dataclass(frozen=True)
class RepoSummary:
    """One search result.

    Attributes:
        last_modified: ISO 8601 time of the last commit, or "" when the Hub did not say.
        license: The licence identifier from the model card ("apache-2.0"), or "".
        has_chat_template: From the Hub's GGUF summary; None when it did not say.
        context_length, parameters: From the same summary; 0 when unknown.
    """

    repo_id: str
    author: str
    downloads: int
    likes: int
    last_modified: str
    license: str
    has_chat_template: bool | None
    architecture: str = ""
    context_length: int = 0
    parameters: int = 0
    gated: bool = False


@dataclass(frozen=True)
class RemoteFile:
    """One file in a repository. `sha256` is the Hub's LFS checksum ("" for a file kept in git;
    `blob_id` is then its git object id)."""

    path: str
    size: int
    sha256: str = ""
    blob_id: str = ""


@dataclass(frozen=True)
class RemoteModel:
    """One GGUF model in a repository at one revision: a single file or every part of a split one.

    Attributes:
        name: The file name, or for a split model its first part's name.
        quant: The quantization type from the name ("Q4_K_M"), "" when the name does not say.
        complete: False when the repository lacks some parts of a split model.
    """

    repo_id: str
    revision: str
    name: str
    quant: str
    parts: tuple[RemoteFile, ...]
    complete: bool = True

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)

    @property
    def first(self) -> RemoteFile:
        return self.parts[0]


@dataclass(frozen=True)
class RepoListing:
    """A repository's GGUF models, best quantization first, at the revision they were listed."""

    repo_id: str
    revision: str
    license: str
    gated: bool
    models: tuple[RemoteModel, ...]

    def find(self, file: str) -> RemoteModel:
        """The model a person named: a file name or path (any part of a split model) or a type.

        Raises:
            HubError: nothing matches, or a quantization type matches several files.
        """
        wanted = file.strip().lower()
        for model in self.models:
            for part in model.parts:
                if wanted in (part.path.lower(), part.path.rsplit("/", 1)[-1].lower()):
                    return model
        by_quant = [m for m in self.models if m.quant.lower() == wanted]
        if len(by_quant) == 1:
            return by_quant[0]
        if by_quant:
            names = ", ".join(m.name for m in by_quant)
            raise HubError(f"Several files in {self.repo_id} are {file}: {names}.", "Name one.")
        raise HubError(
            f"{self.repo_id} has no GGUF file called {file}.",
            f"Run `hearth models files {self.repo_id}` to see its files.",
        )


def check_repo_id(repo_id: str) -> str:
    """Raises HubError unless `repo_id` looks like "owner/name"."""
    if not _REPO_ID.match(repo_id or ""):
        raise HubError(
            f"'{repo_id}' is not a model name on the Hub.", "Write it as owner/name, e.g. Qwen/x."
        )
    return repo_id


def search(connection: HubConnection, query: str, limit: int = SEARCH_LIMIT) -> list[RepoSummary]:
    """Repositories with GGUF files whose name contains `query`, most downloaded first.

    Raises:
        HubError: the Hub cannot be reached or refused (one line, within seconds).
    """
    if not query.strip():
        raise HubError("Type something to search for (a model name like 'qwen' or 'llama').")
    api = connection.api()
    with connection.online("search the Hub"):
        found = api.list_models(
            search=query.strip(),
            filter="gguf",
            sort="downloads",
            limit=max(1, limit),
            expand=["author", "downloads", "likes", "lastModified", "cardData", "tags", "gguf",
                    "gated"],
        )  # fmt: skip
        return [_summary(info) for info in found]


def list_models(connection: HubConnection, repo_id: str) -> RepoListing:
    """Every GGUF model in `repo_id` at its current revision, best quantization first.

    Raises:
        HubError: not found, gated, unreachable.
    """
    check_repo_id(repo_id)
    api = connection.api()
    with connection.online(f"list the files of {repo_id}"):
        info = api.model_info(repo_id, expand=["sha", "cardData", "tags", "gated"])
        revision = info.sha or "main"
        tree = api.list_repo_tree(repo_id, revision=revision, recursive=True)
        files = [
            RemoteFile(
                path=entry.path,
                size=int(entry.lfs.size if entry.lfs else entry.size or 0),
                sha256=entry.lfs.sha256 if entry.lfs else "",
                blob_id=entry.blob_id or "",
            )
            for entry in tree
            if getattr(entry, "size", None) is not None
        ]
    models = group_gguf_files(repo_id, revision, files)
    return RepoListing(repo_id, revision, _license(info), bool(info.gated), tuple(models))


def group_gguf_files(repo_id: str, revision: str, files: list[RemoteFile]) -> list[RemoteModel]:
    """GGUF files as models: split parts joined, projectors left out, best quantization first."""
    singles: list[RemoteModel] = []
    groups: dict[tuple[str, int], dict[int, RemoteFile]] = {}
    for file in files:
        base = file.path.rsplit("/", 1)[-1]
        if not base.lower().endswith(".gguf") or base.lower().startswith("mmproj"):
            continue
        split = split_name(file.path)
        if split is None:
            singles.append(RemoteModel(repo_id, revision, file.path, quant_from_name(file.path),
                                       (file,)))  # fmt: skip
        else:
            groups.setdefault((split.prefix, split.count), {})[split.index] = file
    for (prefix, count), parts in groups.items():
        ordered = tuple(parts[i] for i in sorted(parts))
        first = split_name(ordered[0].path)
        assert first is not None
        name = first.part_name(1) if 1 in parts else ordered[0].path
        singles.append(RemoteModel(repo_id, revision, name, quant_from_name(prefix + ".gguf"),
                                   ordered, complete=len(parts) == count))  # fmt: skip
    return sorted(singles, key=lambda m: (quality_rank(m.quant), -m.size, m.name))


def _summary(info: Any) -> RepoSummary:
    gguf = info.gguf if isinstance(info.gguf, dict) else {}
    template = gguf.get("chat_template") if gguf else None
    return RepoSummary(
        repo_id=info.id,
        author=info.author or info.id.split("/", 1)[0],
        downloads=int(info.downloads or 0),
        likes=int(info.likes or 0),
        last_modified=info.last_modified.isoformat() if info.last_modified else "",
        license=_license(info),
        has_chat_template=bool(template) if gguf else None,
        architecture=str(gguf.get("architecture", "")),
        context_length=int(gguf.get("context_length") or 0),
        parameters=int(gguf.get("total") or 0),
        gated=bool(info.gated),
    )


def _license(info: Any) -> str:
    card = getattr(info, "card_data", None)
    value = getattr(card, "license", None) if card is not None else None
    if value:
        return str(value)
    for tag in info.tags or ():
        if tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return ""
