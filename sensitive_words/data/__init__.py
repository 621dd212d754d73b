"""Data files of sensitive_words (a package so that setuptools ships its *.txt and *.tsv)."""
