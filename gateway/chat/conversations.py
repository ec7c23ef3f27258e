"""Chat console conversations and saved models: the web app's writes and reads.

Console traffic only: /v1 prompts are never stored. Every lookup is scoped to a workspace, so an
id from another workspace is simply not found.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import Conversation, Message, SavedModel, User, Workspace

DEFAULT_TITLE = "New conversation"
TITLE_LENGTH = 60
HISTORY_LIMIT = 40  # messages sent upstream per turn; older ones stay stored but unsent
CONTEXT_STATUSES = (Message.Status.COMPLETE, Message.Status.INCOMPLETE)


def conversation_list(*, workspace: Workspace) -> QuerySet[Conversation]:
    return Conversation.objects.filter(workspace=workspace).order_by("-updated_at", "-pk")


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.order_by("created_at", "pk")


def conversation_create(*, workspace: Workspace, user: User | None, model_id: str) -> Conversation:
    return Conversation.objects.create(workspace=workspace, user=user, model_id=model_id)


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    conversation.title = title.strip()[:200] or DEFAULT_TITLE
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    conversation.delete()


def _title_from(content: str) -> str:
    line = " ".join(content.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


@transaction.atomic
def user_message_add(*, conversation: Conversation, content: str, model_id: str) -> Message:
    """Store the user's turn (before any upstream call) and remember the chosen model."""
    message = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, content=content
    )
    conversation.model_id = model_id
    if conversation.title == DEFAULT_TITLE:
        conversation.title = _title_from(content) or DEFAULT_TITLE
    conversation.save(update_fields=["model_id", "title", "updated_at"])
    return message


@dataclass
class AssistantReply:
    """What one answer produced; `content` may be partial when the status says so."""

    content: str = ""
    status: str = Message.Status.COMPLETE
    model_id: str = ""
    provider: str = ""
    request_id: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)


def assistant_message_save(*, conversation: Conversation, reply: AssistantReply) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        content=reply.content,
        status=reply.status,
        model_id=reply.model_id[:300],
        provider=reply.provider[:64],
        request_id=reply.request_id[:64],
        attempts=reply.attempts,
    )
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=message.created_at)
    return message


def chat_payload(*, conversation: Conversation, model_id: str, stream: bool) -> dict[str, Any]:
    """The chat request for the next answer: the recent usable turns of the conversation."""
    turns = (
        conversation_messages(conversation=conversation)
        .filter(status__in=CONTEXT_STATUSES)
        .exclude(content="")
        .values_list("role", "content")
    )
    recent = list(turns)[-HISTORY_LIMIT:]
    messages = [{"role": role, "content": content} for role, content in recent]
    return {"model": model_id, "messages": messages, "stream": stream}


def saved_model_list(*, workspace: Workspace) -> QuerySet[SavedModel]:
    return SavedModel.objects.filter(workspace=workspace).order_by("model_id")


def saved_model_ids(*, workspace: Workspace) -> set[str]:
    return set(saved_model_list(workspace=workspace).values_list("model_id", flat=True))


def saved_model_toggle(*, workspace: Workspace, model_id: str) -> bool:
    """Save the model, or unsave it when already saved; True when it ends up saved."""
    deleted, _ = SavedModel.objects.filter(workspace=workspace, model_id=model_id).delete()
    if deleted:
        return False
    SavedModel.objects.get_or_create(workspace=workspace, model_id=model_id)
    return True


def saved_model_delete(*, saved_model: SavedModel) -> None:
    saved_model.delete()
