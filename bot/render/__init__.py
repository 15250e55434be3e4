"""The presentation layer: answers and timelines as plain text (CLI) and JSON (API).

Chat front ends (`bot.server.render_slack`, `render_markdown`, `bot.discord_bot.render`) and the
web page build their markup from the same answer items and from these pieces.
"""
