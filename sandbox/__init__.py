"""A local stand-in for Microsoft Entra ID (v2.0) and Microsoft Graph, for one demo tenant.

It is a separate program (``python -m sandbox``): it imports nothing of the portal, and the
portal reaches it only over HTTP, exactly as it would reach Microsoft.
"""
