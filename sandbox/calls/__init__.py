"""Cloud communications calls: the calling bot's Graph API, its signed callbacks, simulated people.

``platform`` holds the calling platform's signing keys and OpenID configuration, ``model`` the
calls, participants and operations, ``area`` the running calls with their timers, behaviours
and callback delivery, ``endpoints`` the Graph API (``/communications/calls``),
``delegation`` the beta call delegation API, and ``control`` the ``/_sandbox/calls`` API.
``routes`` registers all of them.
"""
