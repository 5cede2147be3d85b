"""`isp bench`: not written yet."""


def add_parser(sub):
    return sub.add_parser("bench", help="(not yet available)")


def run(args):
    from isp.errors import InputError

    raise InputError("'isp bench' is not available yet")
