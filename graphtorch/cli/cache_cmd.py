"""``graphtorch cache [info|prune|clear]``: the on-disk caches of compiled kernels and plans.

``info`` (the default) shows where they are, what they hold and the size limit
(``GT_CACHE_MAX_MB``); ``prune`` removes least recently used entries down to the limit (or to
``--max-mb``); ``clear`` removes every entry. See runtime/disk_cache.py.
"""

from __future__ import annotations

from graphtorch.cli.errors import UsageError, emit_json
from graphtorch.runtime import disk_cache


def add_parser(sub):
    p = sub.add_parser("cache", help="show, prune or clear the disk caches of compiled kernels "
                                     "and plans")
    p.add_argument("action", nargs="?", default="info", choices=("info", "prune", "clear"),
                   help="info (default), prune (least recently used first) or clear")
    p.add_argument("--max-mb", type=float, metavar="MB",
                   help="with prune: the size to prune to (default: GT_CACHE_MAX_MB, 2048)")
    p.set_defaults(handler=run)
    return p


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB"


def run(args) -> int:
    root = disk_cache.cache_root()
    if args.max_mb is not None and args.action != "prune":
        raise UsageError("--max-mb goes with 'prune'")
    if args.action == "clear":
        before = disk_cache.clear(root)
        doc = {"root": str(root), "removed_files": before.files, "freed_bytes": before.bytes}
        text = f"cleared {root}: {before.files} files, {_mb(before.bytes)}"
    elif args.action == "prune":
        if args.max_mb is not None and args.max_mb <= 0:
            raise UsageError(f"--max-mb must be positive (got {args.max_mb:g})")
        limit = disk_cache.limit_bytes() if args.max_mb is None else int(args.max_mb * (1 << 20))
        files, freed = disk_cache.prune(limit, root)
        doc = {"root": str(root), "limit_bytes": limit, "removed_files": files,
               "freed_bytes": freed}
        text = (f"pruned {root}: removed {files} files, {_mb(freed)}"
                + (f" (limit {_mb(limit)})" if limit is not None else " (no limit set)"))
    else:
        u = disk_cache.usage(root)
        limit = disk_cache.limit_bytes()
        doc = {"root": str(root), "limit_bytes": limit, "files": u.files, "bytes": u.bytes,
               "by_dir": {k: {"files": v[0], "bytes": v[1]} for k, v in u.by_dir.items()}}
        lines = [f"root   {root}",
                 f"limit  {_mb(limit) if limit is not None else 'none'} (GT_CACHE_MAX_MB)",
                 f"total  {u.files} files, {_mb(u.bytes)}"]
        lines += [f"  {k:<8} {v[0]} files, {_mb(v[1])}" for k, v in u.by_dir.items()]
        text = "\n".join(lines)
    if args.json:
        emit_json(doc)
    else:
        print(text)
    return 0
