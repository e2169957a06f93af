"""Answering in a conversation, whatever engine runs the model (no Qt; usable from any thread).

- `events`: what answering reports, in order (`SourcesFound`, `ContextUsed`, `QuestionRead`,
  `TextArrived`, `EvidenceFound`, `ReplyEnded`): the typed records the window, a server or a
  script receive.
- `engine`: `ChatEngine`, what answering needs from a model, and `LocalEngine`, the llama.cpp
  session on this machine (a remote engine implements the same protocol).
- `answer`: `Question` and `answer()`: retrieve, plan the context, stream the reply.
- `placement`: whether a dropped document goes into the prompt whole or is searched.
- `stored`: sources (with their evidence) and stats as the chat store keeps them, and back.
"""
