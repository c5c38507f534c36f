"""SD card for the Raspberry Pi 4 (filled in with the RPI4 board)."""


def add_commands(sub):
    pass
