"""Chat's beat tasks (thin: the work is in `services`)."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def archive_inactive_chats() -> dict:
    """Every minute: schedule the archiving of chats quiet for their widget's minutes, then work
    those rows now (core's scheduled work: each exactly once, also when two runs overlap);
    prune the embedded relay's log."""
    from core import scheduling

    from . import relay, services
    from .models import ChatArchive

    scheduled = services.schedule_archives()
    registration = next(r for r in scheduling.registrations() if r.model is ChatArchive)
    swept = scheduling.sweep_model(registration) if scheduled else None
    return {
        "scheduled": scheduled,
        "archived": swept.done if swept else 0,
        "pruned": relay.prune(),
    }


@shared_task(acks_late=True, ignore_result=True)
def route_waiting_chats() -> int:
    """Every 15 seconds: give waiting chats to agents who have a seat (a missed wake-up, an
    agent who came back without a socket event); hand off the bot's chats it left unanswered."""
    from . import bot, services

    bot.hand_off_stalled()
    return services.route_waiting()


@shared_task(acks_late=True, ignore_result=True)
def bot_reply(message_id: int) -> None:
    """The widget bot's answer to one visitor message (`support.chat.bot.reply`)."""
    from . import bot

    bot.reply(message_id)
