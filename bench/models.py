"""Model download benchmark against a local Hub on 127.0.0.1 (tests/hub_server.py).

Prints one JSON object:
- "download": per model, Hearth's download (range transfer, SHA-256, move, catalog) against a plain
  `curl` of the same file from the same server in the same run, best of `--repeat` each,
  alternating; "ratio" is Hearth's throughput over curl's (goal >= 0.9). Also the transfer alone
  (first byte to last byte, without the checksum's final step and the catalog).
- "header": the time and bytes to read each model's GGUF header over range requests.
- "fit": the fit estimate made from the remote header (before downloading) against the buffers
  llama.cpp allocates when the downloaded file is loaded (CPU, 4096 tokens, f16 K/V cache).

    .venv/bin/python bench/models.py [--repeat 3] [--ctx 4096] [--rate BYTES_PER_S]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine.bundled import default_model_path, gemma_model_path  # noqa: E402
from engine.catalog import ModelCatalog  # noqa: E402
from engine.hub.connection import HubConnection  # noqa: E402
from engine.hub.download import DownloadRequest, download_model  # noqa: E402
from engine.hub.listing import list_models  # noqa: E402
from engine.hub.progress import DownloadState  # noqa: E402
from engine.hub.remote_gguf import read_remote_header  # noqa: E402
from engine.hub.store import DownloadStore  # noqa: E402
from engine.memory.estimate import estimate_memory  # noqa: E402
from engine.session import LoadSettings, ModelSession  # noqa: E402
from tests.engine.context.tiny_gguf import write_tiny_model  # noqa: E402
from tests.hub_server import HubServer  # noqa: E402

MiB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--rate", type=float, default=0, help="throttle the server (bytes/s)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-models-"))
    hub = HubServer()
    sources = {"SmolLM2-135M-Instruct.Q4_1.gguf": default_model_path(),
               "gemma-3-270m-Q4_K_M.gguf": gemma_model_path(),
               "tiny-F32.gguf": write_tiny_model(work / "tiny.gguf")}  # fmt: skip
    for name, path in sources.items():
        hub.add_repo(f"local/{Path(name).stem}", {name: path})
    hub.faults.bytes_per_s = args.rate
    hub.start()
    connection = HubConnection(hub.url)
    report: dict = {"server": "tests/hub_server.py on 127.0.0.1", "rate_limit": args.rate,
                    "download": [], "header": [], "fit": []}  # fmt: skip
    try:
        for name in sources:
            model = list_models(connection, f"local/{Path(name).stem}").models[0]
            header = read_remote_header(connection, model)
            report["header"].append({"file": name, "size": model.size,
                                     "bytes_fetched": header.bytes_fetched,
                                     "requests": header.requests,
                                     "seconds": round(header.seconds, 4)})  # fmt: skip
            download, path = _download_vs_curl(connection, hub, model, work, args.repeat)
            report["download"].append(download)
            report["fit"].append(_fit(header, path, args.ctx))
    finally:
        hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))


def _download_vs_curl(connection, hub, model, work, repeat):
    url = connection.resolve_url(model.repo_id, model.revision, model.first.path)
    curl_times, hearth_times, transfer_times = [], [], []
    path = ""
    for attempt in range(repeat):
        target = work / f"curl-{attempt}.gguf"
        started = time.perf_counter()
        subprocess.run(["curl", "-sS", "-L", "-o", str(target), url], check=True)
        curl_times.append(time.perf_counter() - started)
        target.unlink()
        folder = work / f"hearth-{attempt}"
        store = DownloadStore(folder / "models", folder / "cache")
        catalog = ModelCatalog(folder / "models.json")
        started = time.perf_counter()
        first_byte = last_byte = None
        for event in download_model(connection, DownloadRequest(model), store, catalog):
            if event.state == DownloadState.DOWNLOADING and first_byte is None:
                first_byte = time.perf_counter()
            if event.state == DownloadState.VERIFYING:
                last_byte = time.perf_counter()
            final = event
        hearth_times.append(time.perf_counter() - started)
        assert final.state == DownloadState.DONE, final.message
        if first_byte and last_byte:
            transfer_times.append(last_byte - first_byte)
        if attempt < repeat - 1:
            shutil.rmtree(folder)
        else:
            path = final.path
    curl_s, hearth_s = min(curl_times), min(hearth_times)
    transfer_s = min(transfer_times) if transfer_times else hearth_s
    mb = model.size / 1e6
    return {
        "file": model.name,
        "size_mb": round(mb, 1),
        "curl_s": round(curl_s, 3),
        "hearth_s": round(hearth_s, 3),
        "hearth_transfer_s": round(transfer_s, 3),
        "curl_mb_per_s": round(mb / curl_s, 1),
        "hearth_mb_per_s": round(mb / hearth_s, 1),
        "hearth_transfer_mb_per_s": round(mb / transfer_s, 1),
        "ratio": round(curl_s / hearth_s, 3),
        "transfer_ratio": round(curl_s / transfer_s, 3),
    }, path


def _fit(header, path, n_ctx):
    info = header.info
    n_ctx = min(n_ctx, info.context_length or n_ctx)
    settings = LoadSettings(model_path=path, n_ctx=n_ctx, n_gpu_layers=0)
    estimate = estimate_memory(info, n_ctx, flash_attn=settings.flash_attn, n_gpu_layers=0,
                               layout=header.layout)  # fmt: skip
    session = ModelSession()
    session.load(settings)
    actual = session.allocation
    session.unload()
    assert actual is not None
    return {
        "model": info.name,
        "n_ctx": n_ctx,
        "estimate_mib": {k: round(v / MiB, 1) for k, v in estimate.parts().items()},
        "actual_mib": {k: round(v / MiB, 1) for k, v in actual.parts().items()},
        "estimate_total_mib": round(estimate.total / MiB, 1),
        "actual_total_mib": round(actual.total / MiB, 1),
        "ratio": round(estimate.total / actual.total, 4) if actual.total else None,
    }


if __name__ == "__main__":
    main()
