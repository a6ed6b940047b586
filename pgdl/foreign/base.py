"""What pgdl's own wrapper classes share: typed options and plan-time
parameters.  Segments are pgdl.multicorn.extensions.Segment."""

from pgdl.errors import invalid_option
from pgdl.multicorn import ForeignDataWrapper


class Parameter:
    """A qual's value that the plan does not know: a query parameter (or a
    stable expression), evaluated at executor start.  `text` is its SQL,
    such as $1, for EXPLAIN."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def positive_int(name, text):
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise invalid_option('invalid value for option "%s": "%s"' % (name, text),
                             hint="Use a whole number of at least 1.")
    return value


def integer(name, text):
    try:
        return int(text)
    except (TypeError, ValueError):
        raise invalid_option('invalid value for option "%s": "%s"' % (name, text),
                             hint="Use a whole number.")


class PgdlWrapper(ForeignDataWrapper):
    """A pgdl table kind.

    OPTIONS maps each option a kind accepts to a parser (name, text) ->
    value; anything else is refused.  Kinds that split their rows define
    get_segments() and take `segment=Segment(index, count)` in execute().
    """

    parallel_safe = True
    OPTIONS = {"kind": lambda name, text: text, "segments": positive_int}
    REQUIRED = {}           # option name -> hint, for options a kind cannot do without

    def __init__(self, fdw_options, fdw_columns):
        super().__init__(fdw_options, fdw_columns)
        self.columns = fdw_columns
        self.options = self.validate_options(fdw_options)

    @classmethod
    def validate_options(cls, options):
        parsed = {}
        for name, text in options.items():
            parser = cls.OPTIONS.get(name)
            if parser is None:
                raise invalid_option(
                    'invalid option "%s" for a table of kind "%s"' % (name, options.get("kind")),
                    hint="Valid options are: %s." % ", ".join(sorted(cls.OPTIONS)))
            parsed[name] = parser(name, text)
        for name, hint in cls.REQUIRED.items():
            if name not in parsed:
                raise invalid_option('a table of kind "%s" needs option "%s"'
                                     % (options.get("kind"), name), hint=hint)
        return parsed

    def get_segments(self, quals, columns):
        return self.options.get("segments", 1)
