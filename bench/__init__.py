"""The speed benchmark behind `make bench` (writes build/bench.json)."""
