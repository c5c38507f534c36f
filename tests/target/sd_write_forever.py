# Write to a file on the SD card without end, saying "writing" after each
# chunk: for a test that kills QEMU in the middle of a write.
chunk = b"\x5a" * 2048
with open("/sd/cut.bin", "wb") as f:
    while True:
        f.write(chunk)
        f.flush()
        print("writing")
