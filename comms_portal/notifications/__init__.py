"""The change-notification pipeline: one intake, one inbox and drain, and a registry of kinds.

An app declares a resource kind (``registry.register``); the pipeline receives Graph's posts
for it, verifies and decrypts them, and hands the kind's handler its changes in batches.
"""
