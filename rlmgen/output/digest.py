"""What identifies a service's generated files without the writer (which `validate` and a
cached rebuild do not import): the manifest's name and the digest of the files."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

MANIFEST = ".rlmgen-manifest"


def files_digest(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + len(files[path]).to_bytes(8, "big"))
        digest.update(files[path])
    return digest.hexdigest()
