"""Input and output schemas shared by the front doors (the API and the web UI).

One contract per input: the web's forms are checked by the same marshmallow schemas as the
API's JSON bodies, so a length, a choice or a date range is written once.
"""
