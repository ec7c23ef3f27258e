"""Stored responses: saved with their input items, read back, continued, listed, expired.

Every read is scoped to the caller's workspace: another workspace's id is simply not found.
Input items are kept in OpenAI's item-resource shapes (each with an id and a status), so
GET /v1/responses/{id}/input_items answers them as they are.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import Workspace
from gateway.api.errors import ApiError
from gateway.models import StoredResponse
from gateway.responses import translate

# A conversation longer than this many turns is cut at its oldest stored turns.
MAX_CHAIN = 500
# item_reference ids are looked up among the workspace's most recent stored responses.
REFERENCE_WINDOW = 50
PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT = 100, 20


def not_found(response_id: str, param: str | None = None) -> ApiError:
    return ApiError(
        f"No response with id '{response_id}' in this workspace.",
        status=404,
        code="response_not_found",
        param=param,
    )


def stored_response_get(*, workspace: Workspace, response_id: str) -> StoredResponse:
    found = StoredResponse.objects.filter(workspace=workspace, id=response_id).first()
    if found is None:
        raise not_found(response_id)
    return found


def stored_response_history(*, workspace: Workspace, response_id: str) -> list[dict[str, Any]]:
    """Every item of the conversation up to and including `response_id`, oldest first."""
    turns: list[StoredResponse] = []
    next_id: str | None = response_id
    while next_id and len(turns) < MAX_CHAIN:
        turn = StoredResponse.objects.filter(workspace=workspace, id=next_id).first()
        if turn is None:
            if not turns:
                raise not_found(response_id, param="previous_response_id")
            break
        turns.append(turn)
        next_id = turn.previous_id
    items: list[dict[str, Any]] = []
    for turn in reversed(turns):
        items += turn.input_items + turn.body.get("output", [])
    return items


def stored_items_resolve(
    *, workspace: Workspace, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`items` with each item_reference replaced by the stored item it names (the Vercel AI
    SDK refers to earlier output by id while `store` is on); 400 naming an unknown one."""
    wanted = {item["id"] for item in items if item["type"] == translate.ITEM_REFERENCE}
    if not wanted:
        return items
    found: dict[str, dict[str, Any]] = {}
    recent = StoredResponse.objects.filter(workspace=workspace).order_by("-created_at")
    for stored in recent.only("input_items", "body")[:REFERENCE_WINDOW]:
        for item in stored.input_items + stored.body.get("output", []):
            if item.get("id") in wanted:
                found.setdefault(item["id"], item)
    resolved = []
    for index, item in enumerate(items):
        if item["type"] == translate.ITEM_REFERENCE:
            if item["id"] not in found:
                raise ApiError(
                    f"No stored item '{item['id']}' in this workspace.",
                    status=404,
                    code="item_not_found",
                    param=f"input[{index}].id",
                )
            item = found[item["id"]]
        resolved.append(item)
    return resolved


def stored_response_save(
    *,
    workspace: Workspace,
    request_id: str,
    body: dict[str, Any],
    items: list[dict[str, Any]],
) -> StoredResponse:
    previous = body.get("previous_response_id") or None  # "" continues nothing
    if previous and not StoredResponse.objects.filter(workspace=workspace, id=previous).exists():
        previous = None  # deleted while this turn was answered: the chain starts here
    return StoredResponse.objects.create(
        id=body["id"],
        workspace=workspace,
        request_id=request_id,
        previous_id=previous,
        input_items=[item_resource(item) for item in items],
        body=body,
    )


def stored_response_delete(*, workspace: Workspace, response_id: str) -> None:
    deleted, _ = StoredResponse.objects.filter(workspace=workspace, id=response_id).delete()
    if not deleted:
        raise not_found(response_id)


def stored_responses_delete_expired() -> int:
    cutoff = timezone.now() - timedelta(days=settings.RESPONSES_RETENTION_DAYS)
    deleted, _ = StoredResponse.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def input_items_page(
    stored: StoredResponse, *, after: str | None, limit: Any, order: Any
) -> dict[str, Any]:
    """One page of a response's input items, in OpenAI's list shape (default order: desc)."""
    limit = _limit(limit)
    if order not in (None, "asc", "desc"):
        raise ApiError("Invalid 'order': expected asc or desc.", param="order")
    items = list(stored.input_items)
    if order != "asc":
        items.reverse()
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise ApiError(f"Invalid 'after': no input item '{after}'.", param="after")
        items = items[ids.index(after) + 1 :]
    page = items[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else "",
        "last_id": page[-1]["id"] if page else "",
        "has_more": len(items) > limit,
    }


def _limit(value: Any) -> int:
    if value in (None, ""):
        return PAGE_LIMIT_DEFAULT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= PAGE_LIMIT_MAX:
        raise ApiError("Invalid 'limit': expected an integer from 1 to 100.", param="limit")
    return limit


# ---- input items as item resources ------------------------------------------------------------
def _input_part(part: dict[str, Any]) -> dict[str, Any]:
    if part.get("type") == "input_image":
        return {"detail": "auto", **{k: v for k, v in part.items() if v is not None}}
    return {"type": "input_text", "text": part.get("text") or part.get("refusal") or ""}


def _message_resource(item: dict[str, Any]) -> dict[str, Any]:
    content = item["content"]
    item_id = item.get("id") or translate.new_item_id("msg")
    if item["role"] == "assistant":
        text = (
            content
            if isinstance(content, str)
            else "".join(part.get("text") or "" for part in content)
        )
        return translate.message_item([translate.text_part(text)], item_id=item_id)
    parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
    return {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": item["role"],
        "content": [_input_part(part) for part in parts],
    }


def _function_call_resource(item: dict[str, Any]) -> dict[str, Any]:
    return translate.function_call_item(
        item_id=item.get("id") or translate.new_item_id("fc"),
        call_id=item["call_id"],
        name=item["name"],
        arguments=item.get("arguments") or "",
    )


def _function_call_output_resource(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function_call_output",
        "id": item.get("id") or translate.new_item_id("fco"),
        "call_id": item["call_id"],
        "output": item["output"],
        "status": "completed",
    }


def _reasoning_resource(item: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "type": "reasoning",
        "id": item.get("id") or translate.new_item_id("rs"),
        "summary": item.get("summary") if isinstance(item.get("summary"), list) else [],
    }
    for key in ("content", "encrypted_content"):
        if item.get(key) is not None:
            resource[key] = item[key]
    return resource


ITEM_RESOURCES = {
    "message": _message_resource,
    "function_call": _function_call_resource,
    "function_call_output": _function_call_output_resource,
    "reasoning": _reasoning_resource,
}


def item_resource(item: dict[str, Any]) -> dict[str, Any]:
    """An input item (already validated by the translation) as OpenAI lists it back."""
    return ITEM_RESOURCES[item["type"]](item)
