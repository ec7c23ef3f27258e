"""GET /v1/models and /v1/models/{id}: the calling workspace's free-model registry."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import caller_workspace
from catalog.families import family_detail
from catalog.listing_cache import catalog_listing_json
from catalog.models import CatalogModel
from catalog.selectors import (
    AUTO_CATEGORY,
    AUTO_FREE_ID,
    any_model_working,
    auto_entry,
    catalog_model_get,
    model_detail,
)
from gateway.api.errors import ApiError
from gateway.routing.quota_view import family_with_quota, listing_with_quotas, model_with_quota

CATEGORY_CHOICES = [*CatalogModel.Category.values, AUTO_CATEGORY]
MODEL_FIELDS = (
    "Each model: OpenAI's `id`, `object`, `created`, `owned_by`, plus `name`, `description`, "
    "`category` (text, vision, image, speech, embedding, transcription; `auto` for the auto "
    "route), `provider`, "
    "`context_length`, `max_output_tokens`, `capabilities`, `voices`, `free_evidence` (why it "
    "counts as free), `working` (its provider answers and it is not cooling down), `pricing` "
    "(always zero) and `limits`: the provider's documented free-tier limits, e.g. "
    '`{"rpm": 30, "rpd": 1000, "tpm": 8000}` (rpm/rph/rpd = requests per minute/hour/day, '
    "tpm/tph/tpd = tokens per minute/hour/day, other units named in full). They usually apply "
    "to the whole provider account, not to each model; `{}` when none are documented "
    "(custom and local servers, the auto route). A model's `family` names the family id that "
    "also routes to it (null for none). Family entries (`provider` openprovider, ids without a "
    "slash, e.g. `llama-3.3-70b-instruct`) stand for the same model on several routes: "
    "`routes` lists each route's `id`, `provider`, `owned_by`, `category`, `context_length`, "
    "`capabilities`, `limits`, `state` (ok, cooling, or its credential's broken state) and "
    "`working`; the family's `context_length` is the smallest, its `capabilities` what every "
    "route has, and `capacity` the summed `rpm`/`rpd` of its working routes (each budget once; "
    "`unknown` counts working routes with no known limit). Calling a family id routes across "
    "its routes; the answer's `model` is the route that served and `family` the family."
    " `quota` (null for the auto route) is the "
    "route's budget and state now: `state` (`ok`, `cooling` with `kind` `minute`/`day`/"
    "`unknown`, `parked`, `breaker_open`, `breaker_half_open`, or the key's broken state such as "
    "`auth_failed`), `until` and `reason` where they apply, `minute` and `day` (and "
    "`tokens_minute`/`tokens_day`): `{limit, remaining, resets_at}`, present where known, and "
    "`shared` (the budget is the whole key's). Times are ISO 8601 UTC. A family's `quota` is "
    "`ok` while any route is, its routes' quotas by id (`routes`), and `minute`/`day` "
    "`remaining` summed over the routes that know theirs (`routes_counted`)."
)


class ModelViewSet(viewsets.ViewSet):
    """GET /v1/models (OpenAI's list shape plus category, provider, limits and `working`) and
    GET /v1/models/{id} (ids contain slashes and colons, hence the `path` converter)."""

    lookup_field = "model_id"
    lookup_value_converter = "path"

    class FilterSerializer(serializers.Serializer):
        category = serializers.ChoiceField(choices=CATEGORY_CHOICES, required=False)
        provider = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,39}$", required=False)
        working = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="models_list",
        description="The workspace's free models, the auto route first. " + MODEL_FIELDS,
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, enum=CATEGORY_CHOICES),
            OpenApiParameter("provider", OpenApiTypes.STR),
            OpenApiParameter("working", OpenApiTypes.BOOL),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def list(self, request: Request) -> HttpResponse:
        # A plain dict: DRF reads a missing boolean in a QueryDict as False.
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        workspace = caller_workspace(request)
        body = catalog_listing_json(
            workspace_id=workspace.pk,
            category=filters.validated_data.get("category"),
            provider=filters.validated_data.get("provider"),
            working=filters.validated_data.get("working"),
        )
        return HttpResponse(listing_with_quotas(body, workspace), content_type="application/json")

    @extend_schema(
        operation_id="models_retrieve",
        description="One model of the workspace, as in the list. " + MODEL_FIELDS,
        responses={200: OpenApiTypes.OBJECT},
    )
    def retrieve(self, request: Request, model_id: str) -> Response:
        workspace = caller_workspace(request)
        workspace_id = workspace.pk
        if model_id == AUTO_FREE_ID:
            entry = auto_entry(working=any_model_working(workspace_id=workspace_id))
            return Response(model_with_quota(entry, None))
        if "/" not in model_id:
            family = family_detail(workspace_id=workspace_id, family=model_id)
            if family is not None:
                return Response(family_with_quota(family, workspace))
        model = catalog_model_get(workspace_id=workspace_id, public_id=model_id)
        if model is None:
            raise ApiError(
                f"The model '{model_id[:200]}' is not in this workspace's free model registry.",
                status=404,
                code="model_not_found",
                param="model",
            )
        return Response(model_with_quota(model_detail(model), model))
