"""Leaf helpers with no M2M knowledge, shared by the API client and the transfer engine.

Standard library only; nothing here imports the rest of the package.
"""
