# For `mpremote mount DIR run tests/target/mount_write_back.py`, DIR holding a
# copy of whoami.py: imports whoami from the host's folder (it prints its
# result) and writes from_target.txt back into that folder, the current
# directory while it is mounted.
import whoami

with open("from_target.txt", "w") as f:
    f.write("hi")
