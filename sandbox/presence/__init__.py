"""Presence as Teams has it: sessions, preferred presence, status, work location, simulator.

``values`` holds the documented vocabulary, ``model`` one person's presence and how it
aggregates, ``store`` everyone's presence with its timers, ``endpoints``/``location`` the Graph
API, ``subscriptions`` the change notifications, ``simulator``/``schedule`` the demo tenant's
life and ``control`` the ``/_sandbox/presence`` API. ``routes`` registers all of them.
"""
