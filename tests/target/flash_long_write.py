# A long write to /flash, for a test that kills QEMU in its middle: lines as
# flash_files.py makes them, 4 KiB per write, flushed (committed) every FLUSH
# bytes, each flush announced as "flushed <bytes>".
NAME = globals().get("NAME", "long.bin")
TOTAL = globals().get("TOTAL", 8 << 20)
FLUSH = globals().get("FLUSH", 64 << 10)


def line(name, k):
    return ("%-63s\n" % ("%s %d" % (name, k))).encode()


with open(NAME, "wb") as f:
    k = done = 0
    while done < TOTAL:
        f.write(b"".join(line(NAME, k + i) for i in range(64)))
        k, done = k + 64, done + 4096
        if done % FLUSH == 0:
            f.flush()
            print("flushed", done)
print("done", done)
