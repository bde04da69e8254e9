"""Teams webinars and town halls (Graph virtual events), as the sandbox serves them.

``model`` holds the events with their sessions, presenters, questions and registrations and
the rules Graph documents for them, ``endpoints`` the Graph API under
``/solutions/virtualEvents``, ``notifications`` the change notifications, ``simulator`` the
attendees who register over time, and ``control`` the ``/_sandbox/virtual-events`` API.
``routes`` registers all of them.
"""
