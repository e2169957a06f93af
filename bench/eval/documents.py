"""The real manuals of the retrieval evaluation, from Debian documentation packages.

They are unpacked under build/evaldata (no system-wide install) the first time they are needed;
`apt-get download` and `dpkg -x` do the work, as the Makefile does for the test manual.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
QUESTIONS_FILE = HERE / "questions.json"
DATA_DIR = ROOT / "build" / "evaldata"


def load_set() -> dict:
    """The evaluation set: {"documents": {id: {...}}, "questions": [{...}, ...]}."""
    return json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))


def ensure_documents(data_dir: Path = DATA_DIR) -> dict[str, Path]:
    """Paths of the evaluation's PDFs, downloading and unpacking their packages when missing.

    Raises:
        RuntimeError: a package cannot be downloaded (no Debian archive reachable).
    """
    documents = load_set()["documents"]
    paths: dict[str, Path] = {}
    for doc_id, doc in documents.items():
        target = data_dir / doc_id / Path(doc["path"]).name.removesuffix(".gz")
        if not target.is_file():
            _unpack(doc["package"], doc["path"], target)
        paths[doc_id] = target
    return paths


def _unpack(package: str, inner: str, target: Path) -> None:
    work = target.parent / "package"
    work.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", package], cwd=work, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"cannot download the Debian package {package}: {exc}") from exc
    deb = next(work.glob(f"{package}_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(work / "x")], check=True)
    source = work / "x" / inner
    if source.suffix == ".gz":
        with gzip.open(source, "rb") as packed, target.open("wb") as out:
            shutil.copyfileobj(packed, out)
    else:
        shutil.copyfile(source, target)
    shutil.rmtree(work, ignore_errors=True)
