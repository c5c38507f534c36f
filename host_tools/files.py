"""Files on the target's filesystem (the RAM disk at /), moved with
mpremote's own fs functions (mpremote.transport.Transport.fs_*), so a file
put here is the file `mpremote cp` would have put.

mpremote's fs functions call exec()/eval() with mpremote's meaning (bytes
out, TransportExecError on a target exception); our Transport's exec() has
the target API's (str out, TargetError). MpremoteFs gives them mpremote's
meaning over our link, and every exchange its own deadline: a transfer of
any size goes on while each step is answered in time.
"""
import time

from mpremote.transport import Transport as MpremoteTransport
from mpremote.transport import TransportExecError
from mpremote.transport_serial import SerialTransport

from .transport import parse_exception

# Bytes per exec: mpremote's 256 costs a round trip per 256 bytes; 2 KiB (up
# to 8 KiB of repr on the line) keeps the target's heap use small.
CHUNK = 2048


def check_path(path):
    """mpremote puts a path between quotes in the code it sends: a quote,
    backslash or line break in it would change that code. Refused here."""
    if not isinstance(path, str) or not path:
        raise ValueError("a target path is a non-empty str, not %r" % (path,))
    bad = [c for c in ("'", '"', "\\", "\n", "\r", "\x00") if c in path]
    if bad:
        raise ValueError("target path %r: %r cannot be sent (mpremote quotes paths as they are)" % (path, bad[0]))
    return path


class MpremoteFs(MpremoteTransport):
    """mpremote's fs_* functions (fs_readfile, fs_writefile, fs_listdir,
    fs_stat, fs_rmfile, ...) over `transport`, one of ours, each exec
    bounded by `timeout` seconds from its start."""

    def __init__(self, transport, timeout):
        self._t = transport
        self._timeout = timeout

    def exec(self, command, data_consumer=None):
        self._t.deadline.at = time.monotonic() + self._timeout
        self._t.deadline.what = command.strip().splitlines()[0][:77]
        return SerialTransport.exec(self._t, command, data_consumer)

    def eval(self, expression, parse=True):
        return SerialTransport.eval(self, expression, parse)


def run(transport, what, fn, timeout):
    """fn(MpremoteFs) under the transport's deadlines; a target exception
    mpremote does not turn into an OSError comes out as TargetError."""
    def body():
        try:
            return fn(MpremoteFs(transport, timeout))
        except TransportExecError as e:
            raise parse_exception(e.error_output) from None
    return transport.op(what, body, timeout)
