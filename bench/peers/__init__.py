"""Peers the benchmarks compare Kinerja with (never imported by the product)."""
