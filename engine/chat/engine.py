"""`ChatEngine`: what answering needs from a model, and `LocalEngine`, the one the window uses.

The window, a script and the API server answer through the same `answer()` function; it only
uses the methods below. `LocalEngine` runs a GGUF model on this machine, or, once `connect`ed,
a model on an OpenAI-compatible server (`engine.remote.RemoteSession`): the same planning, the
same text pieces and the same `GenerationStats`, whichever it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from engine.cancel import CancelToken
from engine.context.budget import ContextBudget
from engine.context.turn import DocumentPlacement, TurnPlan, TurnRequest
from engine.errors import HearthError
from engine.stats import GenerationStats

if TYPE_CHECKING:
    from engine.chat_session import ChatSession
    from engine.context.fit import FitReport, MachineMemory
    from engine.context.manager import ContextManager
    from engine.remote import RemoteConnection, RemoteInfo, RemoteSession
    from engine.session import LoadReport, LoadSettings, ModelSession, SamplingSettings


class NoModelError(HearthError):
    """A question or a document arrived while no model is loaded."""


class ChatEngine(Protocol):
    """A model that plans turns into its context window and streams replies (one thread)."""

    @property
    def ready(self) -> bool:
        """True when a question can be answered now (a model loaded, a server reachable)."""
        ...

    @property
    def n_ctx(self) -> int:
        """The context window in tokens (0 when not ready)."""
        ...

    @property
    def budget(self) -> ContextBudget:
        """The latest context budget; updated while a reply streams."""
        ...

    def plan(
        self,
        turn: TurnRequest,
        reply_tokens: int,
        policy: str,
        conversation: object = None,
        cancel: CancelToken | None = None,
    ) -> TurnPlan:
        """Fit `turn` into the window by the overflow `policy`.

        `conversation` names the conversation the turn belongs to: what the engine remembers
        between turns (the cut, a summary) is kept per conversation and forgotten on a switch.

        Raises:
            ContextFullError: The turn cannot fit; the error says what would.
        """
        ...

    def refuse_if_too_long(self, turn: TurnRequest, reply_tokens: int, policy: str) -> None:
        """Refuse at once a turn whose system prompt and message alone cannot fit the window,
        before anything else is done for it (a search of its documents, a plan).

        Raises:
            ContextFullError: They cannot fit, whatever the policy.
        """
        ...

    def measure(
        self, turn: TurnRequest, reply_tokens: int, policy: str, conversation: object = None
    ) -> TurnPlan:
        """`turn` counted as it stands, not fitted and not remembered (see `plan`): how its
        conversation fills the window before anything is asked. Its budget may exceed it."""
        ...

    def stream(
        self, plan: TurnPlan, sampling: SamplingSettings, cancel: CancelToken | None = None
    ) -> Iterator[str | GenerationStats]:
        """The reply to `plan`: text pieces, then one `GenerationStats`."""
        ...

    def place_document(
        self, text: str, turn: TurnRequest, reply_tokens: int, policy: str
    ) -> DocumentPlacement:
        """Whether `text` fits whole in what the conversation `turn` can spare."""
        ...


@dataclass(frozen=True)
class LoadedModel:
    """A model the local engine loaded, and where it runs, for the window and the logs.

    Attributes:
        report: What llama.cpp loaded (model metadata, window, cache types, timing).
        device: "CPU" or the GPU's name when layers were offloaded.
        total_layers: Layers llama.cpp can offload (repeating layers plus the output layer).
        notes: Things the person should know (a fallback to the CPU, flash attention turned on).
        ram_bytes, vram_bytes: What the load allocated, given back when another model loads.
    """

    report: LoadReport
    device: str
    total_layers: int
    notes: tuple[str, ...] = field(default=())
    ram_bytes: int = 0
    vram_bytes: int = 0

    @property
    def path(self) -> str:
        return str(self.report.model.path)


class LocalEngine:
    """The llama.cpp session on this machine, or a remote model, as a `ChatEngine`. Model thread
    only.

    Loading a local model closes a remote connection and connecting frees the local model, each
    only once the new one works: one model answers at a time, and a failure keeps the old one.

    Args:
        session: The local session to use; a new one when None.

    Attributes:
        session: The local llama.cpp session (its `report` is None while no local model is loaded).
        remote: The connected remote session, or None.
    """

    def __init__(self, session: ModelSession | None = None) -> None:
        from engine.session import ModelSession

        self.session = session or ModelSession()
        self.remote: RemoteSession | None = None
        self._manager: ContextManager | None = None
        self._conversation: object = None

    @property
    def chat_session(self) -> ChatSession:
        """The session that answers now: the remote one when connected, else the local one."""
        return self.remote if self.remote is not None else self.session

    # -- loading -----------------------------------------------------------------------------

    def load(
        self,
        settings: LoadSettings,
        memory: MachineMemory | None = None,
        flash_attn: bool | None = None,
    ) -> tuple[LoadedModel, FitReport]:
        """Check that `settings` fit this machine, then load; the old model stays if either fails.

        Args:
            memory: Free memory; measured now (counting the loaded model's as free) when None.
            flash_attn: As `engine.context.fit.check_fit`: None follows the cache type.

        Raises:
            ContextFitError: The window does not fit; its report holds the proposals.
            ModelFileError, ModelLoadError: The file or llama.cpp refused.
        """
        from engine.backends import detect_backend
        from engine.context.fit import MachineMemory, prepare_load

        if memory is None:
            allocation = self.session.allocation
            memory = MachineMemory.probe(
                freed_ram=allocation.ram if allocation else 0,
                freed_vram=allocation.vram if allocation else 0,
            )
        settings, fit = prepare_load(settings, memory, flash_attn=flash_attn)
        report = self.session.load(settings)
        self._disconnect()
        self._manager = None
        backend = detect_backend()
        allocation = self.session.allocation
        loaded = LoadedModel(
            report=report,
            device=backend.devices[0] if report.n_gpu_layers and backend.devices else "CPU",
            total_layers=report.model.block_count + 1,
            notes=tuple(report.notes) + tuple(backend.notes),
            ram_bytes=allocation.ram if allocation else 0,
            vram_bytes=allocation.vram if allocation else 0,
        )
        return loaded, fit

    def unload(self) -> None:
        """Free the local model and its KV cache now, and close any remote connection."""
        self.session.unload()
        self._disconnect()
        self._manager = None

    def connect(self, connection: RemoteConnection, api_key: str | None = None,
                key_where: str = "") -> RemoteInfo:  # fmt: skip
        """Answer with `connection`'s model from now on; the local model is freed once it works.
        `key_where`: where the person gives the key (see `RemoteClient`).

        Raises:
            RemoteError: The server cannot be used (down, wrong key, no such model, timeout);
                whatever answered before still does.
        """
        from engine.remote import RemoteSession

        remote = RemoteSession()
        info = remote.connect(connection, api_key, key_where)
        self.session.unload()
        self._disconnect()
        self.remote = remote
        self._manager = None
        return info

    def _disconnect(self) -> None:
        if self.remote is not None:
            self.remote.unload()
            self.remote = None

    # -- ChatEngine --------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.chat_session.loaded

    @property
    def n_ctx(self) -> int:
        session = self.chat_session
        return session.n_ctx if session.loaded else 0

    @property
    def budget(self) -> ContextBudget:
        if self._manager is None:
            return ContextBudget(n_ctx=self.n_ctx)
        return self._manager.budget

    def plan(
        self,
        turn: TurnRequest,
        reply_tokens: int,
        policy: str,
        conversation: object = None,
        cancel: CancelToken | None = None,
    ) -> TurnPlan:
        manager = self._manager_for(policy)
        if conversation != self._conversation:
            manager.reset()  # the remembered cut and summary belong to one conversation
            self._conversation = conversation
        return manager.plan(turn, reply_tokens, cancel)

    def refuse_if_too_long(self, turn: TurnRequest, reply_tokens: int, policy: str) -> None:
        self._manager_for(policy).refuse_if_too_long(turn, reply_tokens)

    def measure(
        self, turn: TurnRequest, reply_tokens: int, policy: str, conversation: object = None
    ) -> TurnPlan:
        # What the last plan left out holds for its own conversation only.
        remembered = conversation == self._conversation
        return self._manager_for(policy).measure(turn, reply_tokens, remembered)

    def stream(
        self, plan: TurnPlan, sampling: SamplingSettings, cancel: CancelToken | None = None
    ) -> Iterator[str | GenerationStats]:
        return self._manager_for(plan.policy).chat(plan, sampling, cancel)

    def place_document(
        self, text: str, turn: TurnRequest, reply_tokens: int, policy: str
    ) -> DocumentPlacement:
        return self._manager_for(policy).place_document(text, turn, reply_tokens)

    def _manager_for(self, policy: str) -> ContextManager:
        from engine.context.manager import ContextManager

        session = self.chat_session
        if not session.loaded:
            raise NoModelError("No model is loaded.", "Pick one with the model button.")
        if self._manager is None or self._manager.session is not session:
            self._manager = ContextManager(session)
        self._manager.set_policy(policy)
        return self._manager
