"""Transfer progress on stderr, as the upload commands (load, upload, guest
run) show it: quiet for a transfer that ends within a second, then one line
rewritten in place ("Image: 2048/32183 KiB (6%) 0.54 MB/s")."""
import sys
import time


class Progress:
    """A progress(sent, total) callback for Target.upload/load_firmware; use
    it as a context manager so the line is ended however the transfer ends."""

    def __init__(self, label="", out=None):
        self.label = label + ": " if label else ""
        self.out = out or sys.stderr
        self.start = time.monotonic()
        self.shown = False
        self.via = ""

    def set_channel(self, channel):
        """Target.upload says what carries the bytes ("uart", "virtio")."""
        self.via = " over " + channel

    def __call__(self, sent, total):
        elapsed = time.monotonic() - self.start
        if elapsed < 1 and not self.shown:
            return
        self.shown = True
        print("\r%s%d/%d KiB (%d%%) %.2f MB/s%s" % (self.label, sent >> 10, total >> 10, 100 * sent // max(total, 1),
                                                  sent / elapsed / 1e6, self.via), end="", file=self.out, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.shown:
            print(file=self.out)
            self.shown = False
