# The smallest target file: prints (the board os.uname() names, the exception
# level the firmware runs at).
import aarch64, os

print(repr((os.uname().machine.split()[0], aarch64.current_el())))
