"""A verified slash command (Slack or Mattermost): rate limit, quick reply or ack, answer later."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.chat.dispatch import (
    CHANNEL_ACTIONS,
    Reply,
    channel_alerts,
    command_name,
    conversation_id,
    execute,
    immediate_reply,
    parse_request,
    rate_key,
    too_fast,
)
from bot.chat.services import Services
from bot.chat.workload import BUSY, RESTARTING, Job, Restarting, Workload

Render = Callable[[Reply, str], dict]


def answer_slash_command(services: Services, workload: Workload, form: Mapping[str, str],
                         platform: str, render: Render, searching: Callable[[str], dict],
                         delayed_extra: Mapping[str, object] | None = None) -> dict:
    """The immediate response; a question's answer is posted to `response_url` after it (or, when
    the server restarts first, a reply asking the user to ask again)."""
    command = command_name(form.get("command", ""))
    wait = services.limiter.hit(rate_key(platform, form.get("team_id", ""), form["user_id"]))
    if wait:
        return {"response_type": "ephemeral", "text": too_fast(wait)}
    chat = parse_request(form.get("text", ""))
    team = form.get("team_id", "")
    chat.platform, chat.user = platform, f"{team}:{form['user_id']}"
    chat.channel = form.get("channel_id", "")
    # Mattermost sends the thread's root post when the command is run in a thread: every
    # question there is a turn of the same conversation
    chat.conversation = conversation_id(platform, team, chat.channel, form.get("root_id", ""))
    ready = immediate_reply(chat, services.settings.max_question_chars)
    if ready:
        return render(ready, command)
    if chat.action in CHANNEL_ACTIONS:  # a small file write, no core call: answered at once
        return render(channel_alerts(services.settings, chat), command)
    job = workload.admit()
    if job is None:
        return {"response_type": "ephemeral", "text": RESTARTING if workload.draining else BUSY}

    async def answer_later(job: Job) -> None:
        try:
            message = render(await job.run(execute, services.assistant, chat, services.usage,
                                           services.conversations), command)
        except Restarting:
            message = {"response_type": "ephemeral", "text": RESTARTING}
        await services.delivery.post(form["response_url"], message | dict(delayed_extra or {}))

    workload.spawn(job, answer_later, name=f"{platform} response_url delivery")
    return searching(form.get("text", ""))
