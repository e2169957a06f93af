"""PyInstaller hook: sentence-transformers reads its own version and those of its dependencies."""

from PyInstaller.utils.hooks import copy_metadata

datas = copy_metadata("sentence-transformers") + copy_metadata("tokenizers")
