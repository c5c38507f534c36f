# Files on /flash (QEMU virt) with known contents: MODE "write" writes
# FILES ({name: size}) and closes each; MODE "check" reports, for each name,
# None when absent or (size, sha256 hex, read ms). The content of a file is
# 64-byte lines "<name> <line number>" padded with spaces: flash_content() in
# tests/test_storage_virt.py makes the same bytes on the host.
import hashlib
import os
import time

MODE = globals().get("MODE", "check")
FILES = globals().get("FILES", {"a.txt": 100})


def line(name, k):
    return ("%-63s\n" % ("%s %d" % (name, k))).encode()


def write(name, size):
    with open(name, "wb") as f:
        k, left = 0, size
        while left > 0:
            chunk = b"".join(line(name, k + i) for i in range(64))[:left]     # 4 KiB at a time
            f.write(chunk)
            k, left = k + 64, left - len(chunk)
    return size


def check(name):
    try:
        size = os.stat(name)[6]
    except OSError:
        return None
    h, buf = hashlib.sha256(), bytearray(4096)
    t = time.ticks_ms()
    with open(name, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(memoryview(buf)[:n])
    ms = time.ticks_diff(time.ticks_ms(), t)
    return (size, "".join("%02x" % b for b in h.digest()), ms)


t0 = time.ticks_ms()
if MODE == "write":
    result = {name: write(name, size) for name, size in FILES.items()}
    result["ms"] = time.ticks_diff(time.ticks_ms(), t0)
else:
    result = {name: check(name) for name in FILES}
print(repr((os.getcwd(), result)))
