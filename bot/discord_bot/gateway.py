"""Gateway transport: the slash commands on a discord.py client (thin: defer, queue the request
on the shared services' core pool, send the follow-up)."""

# No `from __future__ import annotations`: discord.py reads the parameter annotations of the
# command callbacks, which are defined in a closure.
import asyncio
import logging
import re
from contextlib import suppress

import discord
from discord import app_commands

from bot.chat.dispatch import UNEXPECTED, rate_key, too_fast
from bot.chat.services import Services
from bot.chat.workload import BUSY, RESTARTING
from bot.core.config import Settings
from bot.core.errors import ConfigError
from bot.core.usage import VOTE_UNKNOWN
from bot.discord_bot import commands, schema

log = logging.getLogger(__name__)
AUTOCOMPLETE_SECONDS = 2.0  # Discord drops autocomplete answers after 3 s
NO_MENTIONS = discord.AllowedMentions.none()


def require_token(settings: Settings) -> str:
    """The bot token, or a ConfigError naming the setting to fill."""
    token = settings.discord_token.get_secret_value().strip()
    if not token:
        raise ConfigError("No Discord bot token: set VENDORBAN_DISCORD_TOKEN (the `discord_token` "
                          "setting) in the environment or .env.")
    return token


class VoteButton(discord.ui.DynamicItem[discord.ui.Button],
                 template=r"vote:(?P<vote>up|down):(?P<answer_id>[\w-]{1,90})"):
    """👍 or 👎 under an answer; matched by its custom_id, so it still works after a restart."""

    def __init__(self, vote: str, answer_id: str) -> None:
        up = vote == "up"
        super().__init__(discord.ui.Button(
            style=discord.ButtonStyle.success if up else discord.ButtonStyle.danger,
            label="Helpful" if up else "Not helpful", emoji="👍" if up else "👎",
            custom_id=f"vote:{vote}:{answer_id}"))
        self.vote, self.answer_id = vote, answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> "VoteButton":
        return cls(match["vote"], match["answer_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the vote; the message loses its buttons and says thank you."""
        services: Services | None = getattr(interaction.client, "services", None)
        user = str(interaction.user.id)
        wait = services.limiter.hit(rate_key("discord", "", user)) if services else 0.0
        if wait:
            await interaction.response.send_message(too_fast(wait), ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return
        try:  # the side pool: a vote must not queue behind questions being answered
            known = services is not None and await services.run_side(
                commands.record_vote, services.usage, self.answer_id, self.vote, user)
        except Exception:
            log.warning("could not store a Discord vote", exc_info=True)
            known, text = False, commands.VOTE_NOT_STORED
        else:
            text = VOTE_UNKNOWN
        if not known:
            await interaction.response.send_message(text, ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
            return
        content = interaction.message.content if interaction.message else ""
        await interaction.response.edit_message(content=commands.thanked(content, self.vote),
                                                view=None, allowed_mentions=NO_MENTIONS)


def send_kwargs(payload: dict) -> dict:
    """discord.py keyword arguments for a render payload (vote buttons as a View)."""
    kwargs: dict = {"allowed_mentions": NO_MENTIONS}
    if payload.get("content"):
        kwargs["content"] = payload["content"]
    if payload.get("embeds"):
        kwargs["embeds"] = [discord.Embed.from_dict(e) for e in payload["embeds"]]
    votes = [commands.parse_vote(button.get("custom_id")) for row in payload.get("components", [])
             for button in row.get("components", [])]
    if any(votes):
        view = discord.ui.View(timeout=None)
        for vote, answer_id in filter(None, votes):
            view.add_item(VoteButton(vote, answer_id))
        kwargs["view"] = view
    return kwargs


async def respond(services: Services, interaction: discord.Interaction, name: str,
                  options: dict) -> None:
    """Busy check, defer at once, answer on the core's pool, deliver as a follow-up (the rate
    limit was checked before, by the command's discord.py check)."""
    job = services.workload.admit()
    if job is None:
        text = RESTARTING if services.workload.draining else BUSY
        await interaction.response.send_message(text, ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)
        return
    async with job:
        private = commands.is_private(name, options)
        await interaction.response.defer(thinking=True, ephemeral=private)
        request = commands.chat_request(name, options, str(interaction.user.id),
                                        str(getattr(interaction, "channel_id", "") or ""),
                                        conversation_of(interaction))
        reply = await services.answer(job, request)
        payload, failed = commands.payload_of(reply)
        if failed and not private:
            # A deferred reply keeps the visibility chosen at defer time: drop the public
            # "thinking" message so the error can go to the caller alone.
            with suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(**send_kwargs(payload), ephemeral=private or failed)


def conversation_of(interaction: discord.Interaction) -> str:
    """An /ask inside a thread continues the thread's conversation."""
    channel = getattr(interaction, "channel", None)
    kind = getattr(getattr(channel, "type", None), "value", None)
    return commands.thread_conversation(getattr(interaction, "guild_id", None),
                                        getattr(interaction, "channel_id", None), kind)


def make_commands(services: Services) -> list[app_commands.Command]:
    """The declared slash commands (`schema`), bound to one process's services."""
    async def run(interaction: discord.Interaction, name: str, options: dict) -> None:
        await respond(services, interaction, name, options)

    async def complete(interaction: discord.Interaction, current: str) -> list[str]:
        try:
            return await asyncio.wait_for(services.run_side(
                commands.speaker_choices, services.assistant, current), AUTOCOMPLETE_SECONDS)
        except Exception:  # an empty list beats a failed autocomplete
            log.warning("speaker autocomplete failed", exc_info=True)
            return []

    def wait(interaction: discord.Interaction) -> float:
        return services.limiter.hit(rate_key("discord", "", str(interaction.user.id)))

    return schema.make_commands(run, complete, wait, services.settings.rate_limit_per_minute)


async def on_tree_error(interaction: discord.Interaction,
                        error: app_commands.AppCommandError) -> None:
    """Over the rate limit: how long to wait. Errors outside a command's own handling: logged
    with traceback, a short ephemeral reply."""
    if isinstance(error, app_commands.CommandOnCooldown):
        text = too_fast(error.retry_after)
    else:
        log.error("discord command failed", exc_info=error)
        text = UNEXPECTED
    send = (interaction.followup.send if interaction.response.is_done()
            else interaction.response.send_message)
    with suppress(discord.HTTPException):
        await send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


class VendorbanClient(discord.Client):
    """A discord.py client carrying the slash-command tree; needs no privileged intents."""

    def __init__(self, services: Services) -> None:
        # guilds is not privileged; discord.py keeps its state consistent with it
        super().__init__(intents=discord.Intents(guilds=True), allowed_mentions=NO_MENTIONS)
        self.services = services  # read by VoteButton
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = on_tree_error  # type: ignore[method-assign]
        self.add_dynamic_items(VoteButton)
        for command in make_commands(services):
            self.tree.add_command(command)

    async def on_ready(self) -> None:
        log.info("Discord gateway connected as %s", self.user)


def build_client(services: Services) -> VendorbanClient:
    """The client with its CommandTree, for `vendorban discord` or the server's loop."""
    return VendorbanClient(services)


async def run_gateway(services: Services) -> None:
    """Connect to the gateway and serve the commands until cancelled (no command sync), on the
    given services: their core pool, rate limiter, usage log and conversations. The caller
    drains and closes the services."""
    token = require_token(services.settings)
    async with build_client(services) as client:
        await client.start(token)


async def sync_commands(services: Services) -> tuple[list[str], str]:
    """Register the commands with Discord: to `discord_guild_id` when set, else globally."""
    settings = services.settings
    token = require_token(settings)
    async with build_client(services) as client:
        await client.login(token)  # HTTP only: syncing needs no gateway connection
        if settings.discord_guild_id:
            guild = discord.Object(id=int(settings.discord_guild_id))
            client.tree.copy_global_to(guild=guild)
            synced = await client.tree.sync(guild=guild)
            return [c.name for c in synced], f"guild {settings.discord_guild_id}"
        synced = await client.tree.sync()
        return [c.name for c in synced], "all guilds (global; may take up to an hour to appear)"
