"""The Discord slash commands, declared once with discord.py: names, options, ranges and the
user-facing descriptions. The gateway registers and runs these objects; the HTTP transport reads
their parameters to validate the options Discord sends it.

A command's docstring is its description in Discord's command picker (at most 100 characters).
"""

# No `from __future__ import annotations`: discord.py reads the parameter annotations of the
# command callbacks, which are defined in a closure.
from collections.abc import Awaitable, Callable

import discord
from discord import AppCommandOptionType, app_commands
from discord.app_commands import Range

Respond = Callable[[discord.Interaction, str, dict], Awaitable[None]]
Complete = Callable[[discord.Interaction, str], Awaitable[list[str]]]
Wait = Callable[[discord.Interaction], float]  # seconds the caller must wait; 0: go
WINDOW_SECONDS = 60.0


def rate_limited(wait: Wait, per_minute: int) -> Callable:
    """A discord.py check over the shared rate limiter: over the limit, `CommandOnCooldown`
    reaches the tree's error handler, which tells the caller how long to wait."""
    def predicate(interaction: discord.Interaction) -> bool:
        seconds = wait(interaction)
        if seconds:
            raise app_commands.CommandOnCooldown(
                app_commands.Cooldown(per_minute, WINDOW_SECONDS), seconds)
        return True
    return app_commands.check(predicate)


def make_commands(respond: Respond, complete: Complete, wait: Wait,
                  per_minute: int) -> list[app_commands.Command]:
    """The slash commands, each handing its name and options to `respond`."""
    limited = rate_limited(wait, per_minute)

    @app_commands.command(name="ask")
    @app_commands.describe(
        question="Your question, e.g. Which countries have banned Huawei from 5G?",
        country="Only use sources about this country, e.g. Japan",
        vendor="Only use sources about this vendor, e.g. Huawei or ZTE",
        private="Show the answer only to you (default: everyone in the channel sees it)")
    @limited
    async def ask(interaction: discord.Interaction, question: Range[str, 1, 500],
                  country: Range[str, 1, 60] | None = None,
                  vendor: Range[str, 1, 60] | None = None, private: bool = False) -> None:
        """Ask about government bans on telecom vendors; the answer cites its sources."""
        await respond(interaction, "ask", {"question": question, "country": country,
                                           "vendor": vendor, "private": private})

    @app_commands.command(name="quote")
    @app_commands.describe(speaker="Whose words you want; start typing a name",
                           about="Only what they said about this topic, e.g. 5G")
    @limited
    async def quote(interaction: discord.Interaction, speaker: Range[str, 1, 100],
                    about: Range[str, 1, 200] | None = None) -> None:
        """What a person said about the bans, word for word, with sources."""
        await respond(interaction, "quote", {"speaker": speaker, "about": about})

    @quote.autocomplete("speaker")
    async def speaker_autocomplete(interaction: discord.Interaction,
                                   current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in await complete(interaction, current)]

    @app_commands.command(name="sources")
    @app_commands.describe(search="Only documents whose title or outlet has these words",
                           page="Which page of the list to show")
    @limited
    async def sources(interaction: discord.Interaction, search: Range[str, 1, 100] | None = None,
                      page: Range[int, 1, 1000] = 1) -> None:
        """List the news articles and statements I answer from."""
        await respond(interaction, "sources", {"search": search, "page": page})

    @app_commands.command(name="about")
    @limited
    async def about(interaction: discord.Interaction) -> None:
        """What this bot is and how much it knows."""
        await respond(interaction, "about", {})

    @app_commands.command(name="subscribe")
    @app_commands.describe(country="Only documents about this country, e.g. Japan (default: all)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @limited
    async def subscribe(interaction: discord.Interaction,
                        country: Range[str, 1, 60] | None = None) -> None:
        """Post new documents on vendor bans to this channel as they are added."""
        await respond(interaction, "subscribe", {"country": country})

    @app_commands.command(name="unsubscribe")
    @app_commands.describe(country="Only stop the alerts about this country (default: all)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @limited
    async def unsubscribe(interaction: discord.Interaction,
                          country: Range[str, 1, 60] | None = None) -> None:
        """Stop posting new documents to this channel."""
        await respond(interaction, "unsubscribe", {"country": country})

    return [ask, quote, sources, about, subscribe, unsubscribe]


async def _unused(*args: object) -> list:
    return []


def declared() -> dict[str, app_commands.Command]:
    """The commands by name, for reading their parameters (their callbacks are not run)."""
    return {c.name: c for c in make_commands(_unused, _unused, lambda _: 0.0, 1)}


_TYPES = {AppCommandOptionType.string: str, AppCommandOptionType.integer: int,
          AppCommandOptionType.boolean: bool, AppCommandOptionType.number: float}


def valid_options(command: app_commands.Command, given: dict) -> dict | None:
    """The options a command takes, checked against its declaration (type, range, required);
    None when one is missing or out of bounds. Unknown options are dropped."""
    found: dict = {}
    for p in command.parameters:
        value = given.get(p.name)
        if value is None:
            if p.required:
                return None
            continue
        kind = _TYPES.get(p.type)
        if kind is None or type(value) is not kind and not (kind is float and type(value) is int):
            return None
        size = len(value) if isinstance(value, str) else value
        if (p.min_value is not None and size < p.min_value) or (
                p.max_value is not None and size > p.max_value):
            return None
        found[p.name] = value
    return found
