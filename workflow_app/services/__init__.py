"""Use cases: one function per use case; they flush, the unit of work commits."""
