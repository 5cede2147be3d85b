"""`isp demo`: not written yet."""


def add_parser(sub):
    return sub.add_parser("demo", help="(not yet available)")


def run(args):
    from isp.errors import InputError

    raise InputError("'isp demo' is not available yet")
