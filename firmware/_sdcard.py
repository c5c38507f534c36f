# Run by _boot.py on boards with an SD card slot (aarch64.SDCard, the
# Raspberry Pi 4): the card's first FAT partition, the Pi's boot partition,
# mounted at /sd and made the current directory, so boot.py, main.py and the
# modules there (and in /sd/lib) run and import, and files written from the
# REPL or with `mpremote fs cp` land on the card.
#
# The card is never formatted here: a card FatFs cannot read is left alone
# and the console says why. No card: nothing is said, / stays the RAM disk.
import errno
import os
import sys
import vfs
import aarch64


def mount_sd():
    try:
        card = aarch64.SDCard()
    except OSError as e:
        if e.errno != errno.ENODEV:
            print("[/sd: the SD card did not answer: %s]" % (e.args[-1],))
        return
    try:
        vfs.mount(vfs.VfsFat(card), "/sd")     # FatFs finds the first partition in the MBR
    except OSError as e:
        print("[/sd: no FAT filesystem on the card's first partition (%r): not mounted]" % (e,))
        return
    os.chdir("/sd")
    if "/sd/lib" not in sys.path:
        sys.path.append("/sd/lib")
