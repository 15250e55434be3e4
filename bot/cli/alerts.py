"""CLI sub-commands for alerts on new measures: `vendorban subscribe`, `vendorban unsubscribe`,
`vendorban subscriptions`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bot.cli.command import command
from bot.core.config import Settings
from bot.core.errors import InputError
from ingest.alerts import Subscriptions


def _subscribe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--webhook", required=True, metavar="URL",
                   help="an http(s) webhook (Slack incoming webhook, Mattermost, Discord's "
                        "Slack-compatible URL, or your own) that new documents are posted to")
    p.add_argument("--country", default="", help="only documents about this country")
    p.add_argument("--vendor", default="", help="only documents about this vendor (Huawei, ZTE...)")


@command("subscribe", "post new documents to a webhook after each ingest or watch round",
         _subscribe_args)
def cmd_subscribe(args: argparse.Namespace, settings: Settings) -> int:
    sub = Subscriptions(settings).add(args.webhook, args.country, args.vendor)
    print(sub.id)
    return 0


@command("unsubscribe", "stop a subscription (its id from `vendorban subscriptions`)",
         lambda p: p.add_argument("id", help="the subscription id"))
def cmd_unsubscribe(args: argparse.Namespace, settings: Settings) -> int:
    if not Subscriptions(settings).remove(args.id):
        raise InputError(f"no subscription {args.id!r}; `vendorban subscriptions` lists them")
    print(f"Removed subscription {args.id}.")
    return 0


@command("subscriptions", "list the webhooks told about new documents", lambda p: None)
def cmd_subscriptions(args: argparse.Namespace, settings: Settings) -> int:
    subs = Subscriptions(settings).all()
    if not subs:
        print("No subscriptions: add one with `vendorban subscribe --webhook URL`.")
    for s in subs:
        added = datetime.fromtimestamp(s.created, UTC).strftime("%Y-%m-%d")
        print(f"{s.id}  {added}  {s.target():30}  country={s.country or 'any'}  "
              f"vendor={s.vendor or 'any'}")
    return 0
