"""`make bench`: the national-scale benchmark (DESIGN §6). See bench/run.py."""
