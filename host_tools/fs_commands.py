"""aarch64-el2 put/get and fs cp|ls|cat|rm: files on the target's filesystem
(the RAM disk at /), as mpremote's `cp` and `fs` commands move them.

    aarch64-el2 put main.py                  main.py into the target's current directory
    aarch64-el2 get /data.bin out.bin
    aarch64-el2 fs cp local.bin :/x.bin      ':' marks the target's side, as in mpremote
    aarch64-el2 fs ls / ; fs cat /main.py ; fs rm /x.bin

The RAM disk lasts as long as the firmware runs: with the default -p qemu
each command boots a QEMU of its own, so use a running target
(eval "$(aarch64-el2 boot --env)") to keep files between commands.
"""
import json
import os
import sys

from .target_api import Target


def _connect(args):
    return Target(args.port, timeout=args.timeout, baudrate=args.baud, elf=args.elf)


def _put(t, local, remote):
    if remote in ("", ".") or remote.endswith("/"):
        remote += os.path.basename(local)
    return t.put(local, remote), remote


def _get(t, remote, local):
    if local is None or os.path.isdir(local):
        local = os.path.join(local or ".", os.path.basename(remote.rstrip("/")))
    return len(t.get(remote, local)), local


def _read_error(path, e):
    return ValueError("cannot read %s: %s" % (path, e.strerror or e))


def _remote(path):
    """A target path, with or without mpremote's ':' in front."""
    return path[1:] if path and path.startswith(":") else path


def cmd_put(args):
    args.remote = _remote(args.remote)
    with _connect(args) as t:
        try:
            n, remote = _put(t, args.local, args.remote or "")
        except OSError as e:
            if isinstance(e, FileNotFoundError) and not os.path.exists(args.local):
                raise _read_error(args.local, e) from None
            raise ValueError("cannot write :%s on the target: %s" % (args.remote or args.local, _why(e))) from None
    _report(args, "put", args.local, ":" + remote, n)


def cmd_get(args):
    args.remote = _remote(args.remote)
    with _connect(args) as t:
        try:
            n, local = _get(t, args.remote, args.local)
        except OSError as e:
            raise ValueError("cannot read :%s on the target: %s" % (args.remote, _why(e, "no such file"))) from None
    _report(args, "get", ":" + args.remote, local, n)


def _why(e, missing="no such directory"):
    return {FileNotFoundError: missing, IsADirectoryError: "a directory",
            FileExistsError: "exists"}.get(type(e), str(e))


def _report(args, op, src, dst, n):
    if args.json:
        print(json.dumps({"op": op, "from": src, "to": dst, "bytes": n}))
    else:
        print("%s -> %s: %d bytes" % (src, dst, n))


def cmd_fs(args):
    with _connect(args) as t:
        if args.action == "ls":
            path = _remote(args.paths[0]) if args.paths else ""
            try:
                entries = t.listdir(path)
            except FileNotFoundError:
                raise ValueError("no directory :%s on the target" % path) from None
            if args.json:
                print(json.dumps([{"name": e[0], "dir": bool(e[1] & 0x4000), "size": e[3]} for e in entries]))
            for name, mode, _, size in ([] if args.json else entries):
                print("%9d %s%s" % (size, name, "/" if mode & 0x4000 else ""))
        elif args.action == "cat":
            for p in args.paths:
                try:
                    sys.stdout.buffer.write(t.get(_remote(p)))
                except FileNotFoundError:
                    raise ValueError("no file %s on the target" % p) from None
            sys.stdout.flush()
        elif args.action == "rm":
            for p in args.paths:
                try:
                    t.remove(_remote(p))
                except OSError:
                    raise ValueError("cannot remove %s on the target: no such file" % p) from None
        else:
            _cp(t, args)


def _cp(t, args):
    from .cli import UsageError
    if len(args.paths) != 2:
        raise UsageError("fs cp SRC DEST: one side names the target with ':' (fs cp main.py :main.py)")
    src, dst = args.paths
    if src.startswith(":") == dst.startswith(":"):
        raise UsageError("fs cp %s %s: exactly one side names the target with ':'" % (src, dst))
    if dst.startswith(":"):
        try:
            n, remote = _put(t, src, dst[1:])
        except FileNotFoundError as e:
            if not os.path.exists(src):
                raise _read_error(src, e) from None
            raise ValueError("cannot write %s on the target: no such directory" % dst) from None
        _report(args, "put", src, ":" + remote, n)
    else:
        try:
            n, local = _get(t, src[1:], dst)
        except OSError as e:
            raise ValueError("cannot read %s on the target: %s" % (src, _why(e, "no such file"))) from None
        _report(args, "get", src, local, n)


def add_commands(sub):
    s = sub.add_parser("put", help="a host file onto the target's filesystem (mpremote's fs functions)")
    s.add_argument("local")
    s.add_argument("remote", nargs="?", help="target path (default: the file's name in the current directory)")
    s.set_defaults(func=cmd_put)

    s = sub.add_parser("get", help="a file of the target's filesystem onto the host")
    s.add_argument("remote")
    s.add_argument("local", nargs="?", help="host path or directory (default: the file's name here)")
    s.set_defaults(func=cmd_get)

    s = sub.add_parser("fs", help="files on the target as mpremote fs: cp SRC DEST (':' marks the target), ls, cat, rm")
    s.add_argument("action", choices=["cp", "ls", "cat", "rm"])
    s.add_argument("paths", nargs="*")
    s.set_defaults(func=cmd_fs)
