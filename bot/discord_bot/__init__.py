"""Discord front end: slash commands over the gateway (discord.py) and over HTTP interactions."""
