"""Gateway transport: the slash commands on a discord.py client (thin: defer, run off-loop,
send)."""

# No `from __future__ import annotations`: discord.py reads the parameter annotations of the
# command callbacks, which are defined in a closure.
import asyncio
import logging
import re
from contextlib import suppress

import discord
from discord import app_commands

from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.core.errors import ConfigError
from bot.core.usage import VOTE_UNKNOWN, UsageLog
from bot.discord_bot import commands, render
from bot.discord_bot.commands import DESCRIPTIONS, OPTION_DESCRIPTIONS, Cooldown
from bot.server.workload import BUSY, RESTARTING, Job, Restarting, Workload

log = logging.getLogger(__name__)
AUTOCOMPLETE_SECONDS = 2.0  # Discord drops autocomplete answers after 3 s
NO_MENTIONS = discord.AllowedMentions.none()
WORKERS = 4  # threads answering at once (the default executor's); sizes the admission estimate
DEFAULT_QUEUE_SECONDS = 30.0  # the max_queue_seconds default, for callers without settings


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
        usage = getattr(interaction.client, "usage", None)
        try:  # not the core's pool: a vote must not queue behind questions being answered
            known = usage is not None and await asyncio.to_thread(
                commands.record_vote, usage, self.answer_id, self.vote, str(interaction.user.id))
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


async def respond(interaction: discord.Interaction, assistant: Assistant, cooldown: Cooldown,
                  name: str, options: dict, workload: Workload,
                  usage: UsageLog | None = None) -> None:
    """Cooldown and busy checks, defer at once, compute in a thread, deliver as a follow-up."""
    wait = cooldown.retry_after(interaction.user.id) if name in commands.COOLDOWN_COMMANDS else 0
    job = None if wait else workload.admit()
    if job is None:
        text = (commands.cooldown_message(wait) if wait
                else RESTARTING if workload.draining else BUSY)
        await interaction.response.send_message(text, ephemeral=True,
                                                allowed_mentions=NO_MENTIONS)
        return
    async with job:
        await _answer(interaction, assistant, name, options, job, usage)


async def _answer(interaction: discord.Interaction, assistant: Assistant, name: str,
                  options: dict, job: Job, usage: UsageLog | None = None) -> None:
    private = commands.is_private(name, options)
    await interaction.response.defer(thinking=True, ephemeral=private)
    try:
        payload, failed = await job.run(commands.execute, assistant, name, options, usage,
                                        str(interaction.user.id))
    except Restarting:
        payload, failed = render.render_error(RESTARTING), True
    if failed and not private:
        # A deferred reply keeps the visibility chosen at defer time: drop the public "thinking"
        # message so the error can go to the caller alone.
        with suppress(discord.HTTPException):
            await interaction.delete_original_response()
    await interaction.followup.send(**send_kwargs(payload), ephemeral=private or failed)


def make_commands(assistant: Assistant, cooldown: Cooldown, workload: Workload | None = None,
                  usage: UsageLog | None = None) -> list[app_commands.Command]:
    """The slash commands, bound to one assistant, one cooldown and one workload (and, to record
    answers and show vote buttons, a usage log)."""
    workload = workload or Workload(DEFAULT_QUEUE_SECONDS, WORKERS)

    @app_commands.command(name="ask", description=DESCRIPTIONS["ask"])
    @app_commands.describe(**OPTION_DESCRIPTIONS["ask"])
    async def ask(interaction: discord.Interaction,
                  question: app_commands.Range[str, 1, 500],
                  country: app_commands.Range[str, 1, 60] | None = None,
                  vendor: app_commands.Range[str, 1, 60] | None = None,
                  private: bool = False) -> None:
        await respond(interaction, assistant, cooldown, "ask",
                      {"question": question, "country": country, "vendor": vendor,
                       "private": private}, workload, usage)

    @app_commands.command(name="quote", description=DESCRIPTIONS["quote"])
    @app_commands.describe(**OPTION_DESCRIPTIONS["quote"])
    async def quote(interaction: discord.Interaction,
                    speaker: app_commands.Range[str, 1, 100],
                    about: app_commands.Range[str, 1, 200] | None = None) -> None:
        await respond(interaction, assistant, cooldown, "quote",
                      {"speaker": speaker, "about": about}, workload)

    @quote.autocomplete("speaker")
    async def speaker_autocomplete(interaction: discord.Interaction,
                                   current: str) -> list[app_commands.Choice[str]]:
        try:
            names = await asyncio.wait_for(
                asyncio.to_thread(commands.speaker_choices, assistant, current),
                AUTOCOMPLETE_SECONDS)
        except Exception:  # an empty list beats a failed autocomplete
            log.warning("speaker autocomplete failed", exc_info=True)
            return []
        return [app_commands.Choice(name=n, value=n) for n in names]

    @app_commands.command(name="sources", description=DESCRIPTIONS["sources"])
    @app_commands.describe(**OPTION_DESCRIPTIONS["sources"])
    async def sources(interaction: discord.Interaction,
                      search: app_commands.Range[str, 1, 100] | None = None,
                      page: app_commands.Range[int, 1, 1000] = 1) -> None:
        await respond(interaction, assistant, cooldown, "sources",
                      {"search": search, "page": page}, workload)

    @app_commands.command(name="about", description=DESCRIPTIONS["about"])
    async def about(interaction: discord.Interaction) -> None:
        await respond(interaction, assistant, cooldown, "about", {}, workload)

    return [ask, quote, sources, about]


async def on_tree_error(interaction: discord.Interaction,
                        error: app_commands.AppCommandError) -> None:
    """Errors outside a command's own handling: logged with traceback, a short ephemeral reply."""
    log.error("discord command failed", exc_info=error)
    send = (interaction.followup.send if interaction.response.is_done()
            else interaction.response.send_message)
    with suppress(discord.HTTPException):
        await send(commands.UNEXPECTED, ephemeral=True, allowed_mentions=NO_MENTIONS)


class VendorbanClient(discord.Client):
    """A discord.py client carrying the slash-command tree; needs no privileged intents."""

    def __init__(self, settings: Settings, assistant: Assistant,
                 workload: Workload | None = None, usage: UsageLog | None = None) -> None:
        # guilds is not privileged; discord.py keeps its state consistent with it
        super().__init__(intents=discord.Intents(guilds=True), allowed_mentions=NO_MENTIONS)
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = on_tree_error  # type: ignore[method-assign]
        self.workload = workload or Workload(settings.max_queue_seconds, WORKERS)
        self.usage = usage  # read by VoteButton
        self.add_dynamic_items(VoteButton)
        for command in make_commands(assistant, Cooldown(settings.cooldown_seconds),
                                     self.workload, usage):
            self.tree.add_command(command)

    async def on_ready(self) -> None:
        log.info("Discord gateway connected as %s", self.user)


def build_client(settings: Settings, assistant: Assistant, workload: Workload | None = None,
                 usage: UsageLog | None = None) -> VendorbanClient:
    """The client with its CommandTree, for `vendorban discord` or another process's loop."""
    return VendorbanClient(settings, assistant, workload, usage)


async def run_gateway(settings: Settings, assistant: Assistant, workload: Workload | None = None,
                      usage: UsageLog | None = None) -> None:
    """Connect to the gateway and serve the commands until cancelled (no command sync); alone
    (no server's workload), queued answers are drained when it stops. `/ask` answers are
    recorded in `usage` (by default the data directory's usage log) and carry vote buttons."""
    token = require_token(settings)
    async with build_client(settings, assistant, workload, usage or UsageLog(settings)) as client:
        try:
            await client.start(token)
        finally:
            if workload is None:
                await client.workload.drain(settings.shutdown_grace_seconds)


async def sync_commands(settings: Settings, assistant: Assistant) -> tuple[list[str], str]:
    """Register the commands with Discord: to `discord_guild_id` when set, else globally."""
    token = require_token(settings)
    async with build_client(settings, assistant) as client:
        await client.login(token)  # HTTP only: syncing needs no gateway connection
        if settings.discord_guild_id:
            guild = discord.Object(id=int(settings.discord_guild_id))
            client.tree.copy_global_to(guild=guild)
            synced = await client.tree.sync(guild=guild)
            return [c.name for c in synced], f"guild {settings.discord_guild_id}"
        synced = await client.tree.sync()
        return [c.name for c in synced], "all guilds (global; may take up to an hour to appear)"
