"""`isp process`: not written yet."""


def add_parser(sub):
    return sub.add_parser("process", help="(not yet available)")


def run(args):
    from isp.errors import InputError

    raise InputError("'isp process' is not available yet")
