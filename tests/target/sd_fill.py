# Fill the SD card's partition (/sd) until the filesystem says it is full;
# prints (errno, bytes written, the older file still reads, free blocks).
# CHUNK: bytes per write.
import os

CHUNK = globals().get("CHUNK", 4096)
with open("/sd/keep.txt") as f:
    keep = f.read()
written, err = 0, None
chunk = b"\xa5" * CHUNK
f = open("/sd/fill.bin", "wb")
try:
    while True:
        f.write(chunk)
        written += CHUNK
except OSError as e:
    err = e.errno
f.close()
with open("/sd/keep.txt") as g:
    same = g.read() == keep
print(repr((err, written, same, os.statvfs("/sd")[3])))
