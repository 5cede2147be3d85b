"""`isp grade`: not written yet."""


def add_parser(sub):
    return sub.add_parser("grade", help="(not yet available)")


def run(args):
    from isp.errors import InputError

    raise InputError("'isp grade' is not available yet")
