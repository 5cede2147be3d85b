"""The one exception type for problems a user can cause (bad files, bad arguments), and the
warning for a frame developed with a step left out."""


class InputError(Exception):
    """Bad input: the message names the file or key and says what is wrong, in one line."""


class ProcessingWarning(UserWarning):
    """A frame was developed without a step its data could not feed (a noise estimate or a grey
    world on a saturated or tiny frame); the message names the frame and the step."""


def is_interrupt(e: BaseException) -> bool:
    """Ctrl-C: a KeyboardInterrupt, or the SystemError numba wraps one in when it lands inside a
    compiled kernel."""
    return isinstance(e, KeyboardInterrupt) or (
        isinstance(e, SystemError) and isinstance(e.__cause__ or e.__context__, KeyboardInterrupt))
