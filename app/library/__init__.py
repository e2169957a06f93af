"""The document library process: all document work (index, search, read, render pages) runs in a
second Hearth process at low priority, so the window never waits on chromadb, torch or PyMuPDF.

- `protocol`: the one registry of requests (name, payload, handler, lane) both sides use.
- `client`: the window's side (`LibraryClient`): sends requests, waits, restarts a dead process.
- `service`: the process's side (`serve`, `LibraryService`): answers requests on three lanes.
- `libraries`: the libraries the process has open, by name.
"""
