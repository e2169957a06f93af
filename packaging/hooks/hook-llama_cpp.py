"""PyInstaller hook: llama-cpp-python loads llama.cpp's shared libraries from llama_cpp/lib with ctypes.

Analysis cannot see ctypes loads, so the libraries are collected here, into the same folder the
package looks in. On Linux the wheel holds three identical copies of each library (libx.so,
libx.so.0, libx.so.0.y.z); only the first two are ever opened, so the third is left out.
"""

import re
from pathlib import Path

from PyInstaller.utils.hooks import get_package_paths

_LIBRARY = re.compile(r"(\.dll|\.dylib|\.so|\.so\.\d+)$")

_, _package_dir = get_package_paths("llama_cpp")
binaries = [
    (str(path), "llama_cpp/lib")
    for path in sorted((Path(_package_dir) / "lib").iterdir())
    if path.is_file() and _LIBRARY.search(path.name)
]
