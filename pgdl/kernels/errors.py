"""Errors the kernels and their references raise alike."""


class PackError(ValueError):
    """Row `row` of a batch cannot be packed; `reason` says why."""

    def __init__(self, row, reason):
        super().__init__("row %d %s" % (row, reason))
        self.row = row
        self.reason = reason
