"""`isp info`: not written yet."""


def add_parser(sub):
    return sub.add_parser("info", help="(not yet available)")


def run(args):
    from isp.errors import InputError

    raise InputError("'isp info' is not available yet")
