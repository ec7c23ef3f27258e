"""The chat console: conversations of the workspace, answered through gateway.chat (source web)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.authentication import signed_in_user
from accounts.models import Conversation, Message, Workspace
from catalog.families import capacity_text, family_entries
from catalog.models import CatalogModel
from catalog.selectors import AUTO_FREE_ID, active_models
from gateway.chat.conversations import (
    chat_payload,
    conversation_create,
    conversation_delete,
    conversation_list,
    conversation_messages,
    conversation_rename,
    saved_model_ids,
    user_message_add,
)
from gateway.chat.streaming import SSE_HEADERS

from .chat_events import chat_answer, chat_events
from .common import page, redirect_back, workspace_of
from .forms import ChatSendForm, RenameForm
from .markdown import markdown_html

CHAT_CATEGORIES = (CatalogModel.Category.TEXT, CatalogModel.Category.VISION)
SIDEBAR_SIZE = 50


def conversation_of(request: HttpRequest, pk: int) -> Conversation:
    """The conversation if it belongs to the signed-in workspace; 404 otherwise."""
    return get_object_or_404(conversation_list(workspace=workspace_of(request)), pk=pk)


def model_groups(workspace: Workspace) -> list[tuple[str, list[tuple[str, str]]]]:
    """Picker options: Auto Free first, then model families (one model on several providers),
    saved models, and every text and vision model."""
    models = active_models(workspace_id=workspace.pk).filter(category__in=CHAT_CATEGORIES)
    choices = [(m.public_id, m.name or m.upstream_id) for m in models.only("public_id", "name")]
    saved = saved_model_ids(workspace=workspace)
    return [
        ("OpenProvider", [(AUTO_FREE_ID, "OpenProvider Auto Free")]),
        ("Model families (every provider's free quota)", family_choices(workspace)),
        ("Saved models", [(mid, label) for mid, label in choices if mid in saved]),
        ("All text and vision models", choices),
    ]


def family_choices(workspace: Workspace, *, category: str | None = None) -> list[tuple[str, str]]:
    """(family id, label with its free capacity) of the workspace's chat families; only those
    with a route of `category` when given."""
    return [
        (family["id"], f"{family['id']} ({capacity_text(family['capacity'])})")
        for family in family_entries(workspace_id=workspace.pk)
        if family["category"] in CHAT_CATEGORIES
        and (category is None or any(r["category"] == category for r in family["routes"]))
    ]


def _message_view(message: Message) -> dict[str, Any]:
    assistant = message.role == Message.Role.ASSISTANT
    failed = message.status == Message.Status.ERROR
    return {
        "message": message,
        "failed": failed,
        "html": markdown_html(message.content) if assistant and not failed else "",
        "fallbacks": [a for a in message.attempts if a.get("status") != "ok"] if assistant else [],
    }


@never_cache
@login_required
def chat_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    workspace = workspace_of(request)
    conversation = conversation_of(request, pk) if pk is not None else None
    history = conversation_messages(conversation=conversation) if conversation else []
    context = {
        "conversation": conversation,
        "conversations": conversation_list(workspace=workspace)[:SIDEBAR_SIZE],
        "chat_messages": [_message_view(m) for m in history],
        "model_groups": model_groups(workspace),
        "selected_model": conversation.model_id if conversation else AUTO_FREE_ID,
        "form": ChatSendForm(),
    }
    return page(request, "chat.html", "chat", context)


def _form_errors(form: ChatSendForm) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@login_required
@require_POST
def chat_send(request: HttpRequest) -> HttpResponseBase:
    """Store the user's message, then answer: streamed (JavaScript) or whole (plain form post)."""
    workspace = workspace_of(request)
    form = ChatSendForm(request.POST)
    streamed = "text/event-stream" in request.headers.get("Accept", "")
    if not form.is_valid():
        if streamed:
            return JsonResponse({"error": {"message": _form_errors(form)}}, status=400)
        messages.error(request, _form_errors(form))
        return redirect_back(request, "chat")
    data = form.cleaned_data
    if data["conversation"]:
        conversation = conversation_of(request, data["conversation"])
    else:
        conversation = conversation_create(
            workspace=workspace, user=signed_in_user(request), model_id=data["model"]
        )
    user_message_add(conversation=conversation, content=data["content"], model_id=data["model"])
    payload = chat_payload(conversation=conversation, model_id=data["model"], stream=streamed)
    call = {
        "workspace": workspace,
        "conversation": conversation,
        "request_id": request.request_id,  # type: ignore[attr-defined]
        "payload": payload,
    }
    if streamed:
        response = StreamingHttpResponse(chat_events(**call), content_type="text/event-stream")
        for name, value in SSE_HEADERS.items():
            response[name] = value
        return response
    chat_answer(**call)
    return redirect("chat-conversation", pk=conversation.pk)


@login_required
@require_POST
def conversation_rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_of(request, pk)
    form = RenameForm(request.POST)
    if form.is_valid():
        conversation_rename(conversation=conversation, title=form.cleaned_data["title"])
        messages.success(request, "Conversation renamed.")
    else:
        messages.error(request, " ".join(str(error) for error in form.errors["title"]))
    return redirect_back(request, "account-conversations")


@login_required
@require_POST
def conversation_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_of(request, pk)
    conversation_delete(conversation=conversation)
    messages.success(request, "Conversation deleted.")
    return redirect_back(request, "account-conversations")
