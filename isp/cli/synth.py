"""`isp synth`: not written yet."""


def add_parser(sub):
    return sub.add_parser("synth", help="(not yet available)")


def run(args):
    from isp.errors import InputError

    raise InputError("'isp synth' is not available yet")
