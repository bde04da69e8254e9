"""The Microsoft Graph half of the sandbox: the request pipeline and the resources it serves."""
