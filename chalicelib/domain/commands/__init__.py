"""What a caller asks a use case to do, as typed values: the routes (chalicelib/api/bodies/) read
them from JSON bodies, services take them, tests and jobs build them directly. No wire knowledge
here: field names on the wire, their checks and their error codes live in api/.

One module per area, as the parsers in api/bodies/ are: a request imports only its own area's
commands."""
