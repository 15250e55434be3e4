"""What every chat front end shares (Slack, Mattermost, Discord): the services object, the command
dispatcher, admission to the core's bounded pool, delivery with retries, the rate limiter and the
body cap. The adapters in `bot.server` and `bot.discord_bot` import this package; it imports no
front end."""
