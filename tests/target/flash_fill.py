# Fill /flash with one file, 4 KiB per write, until the filesystem says no;
# then remove it. Prints (errno of the refused write, bytes written, ms,
# statvfs free blocks when full, errno from close() or None, the file's size
# after close, free blocks after the file is removed). littlefs commits
# nothing of a file whose write failed: it keeps what its last flush committed.
import os
import time

NAME = globals().get("NAME", "fill.bin")

buf = bytes(range(256)) * 16
written, err, close_err = 0, None, None
t = time.ticks_ms()
f = open(NAME, "wb")
try:
    while True:
        f.write(buf)
        written += len(buf)
except OSError as e:
    err = e.errno
ms = time.ticks_diff(time.ticks_ms(), t)
free_full = os.statvfs(".")[3]
try:
    f.close()
except OSError as e:
    close_err = e.errno
size = os.stat(NAME)[6]
os.remove(NAME)
print(repr((err, written, ms, free_full, close_err, size, os.statvfs(".")[3])))
