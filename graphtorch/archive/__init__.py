"""The .gt archive: a deterministic zip of a manifest, IR text and safetensors (docs/format.md)."""

from graphtorch.archive.manifest import FORMAT_VERSION
from graphtorch.archive.reader import load, read_archive
from graphtorch.archive.writer import archive_members, save

__all__ = ["FORMAT_VERSION", "archive_members", "load", "read_archive", "save"]
