"""The local API server: the model Hearth loads, offered to other programs in OpenAI's shape.

Requests go through the same model thread, context manager and document libraries as the window
(app.model_thread, engine.chat.answer); no Qt here. `hearth serve` (app/cli_serve.py) runs it on
its own; the modules:

- app.py: the FastAPI routes; auth.py: the key and the loopback rule;
- completions.py, reply.py, requests.py, stops.py: chat completions, streamed or whole;
- embeddings.py: the library's embedding model; documents.py: excerpts from a library;
- gate.py: the queue's limit; server.py: uvicorn on a socket bound first;
- schemas.py: requests and replies; errors.py: OpenAI's error shape.
"""
