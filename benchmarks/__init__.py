"""Ratio benchmarks for cognito_mfa (issue 6), run side by side with pycognito 2024.5.1.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``); ``--quick`` is a smoke run.
See ``benchmarks/README.md`` for what is measured, how, and the latest results.
"""
