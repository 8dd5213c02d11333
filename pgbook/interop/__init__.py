"""Glue between pgbook and other reinforcement-learning libraries, each imported only when used.

pgbook itself depends on none of them: ``from pgbook.interop import sb3`` needs Stable-Baselines3 installed
only when one of its functions is called.
"""
