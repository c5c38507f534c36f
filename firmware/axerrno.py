# AxError: an error with a kind, as the reference's axerrno crate has it.
# pcpu, vcpu and the vCPU's C core raise it.


class AxError(Exception):
    """An error with a kind, as the reference's axerrno::AxError."""

    BadState = "BadState"
    InvalidInput = "InvalidInput"
    Unsupported = "Unsupported"
    AlreadyExists = "AlreadyExists"

    def __init__(self, kind, message):
        super().__init__("%s: %s" % (kind, message))
        self.kind = kind
