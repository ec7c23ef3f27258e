"""Routes of the server-rendered web app (session auth, CSRF-protected)."""

from django.urls import path

from . import account, activity, auth, chat, docs, model_browser, playground, providers

urlpatterns = [
    path("", docs.home, name="home"),
    path("docs/", docs.docs, name="docs"),
    path("models/", model_browser.models_page, name="models"),
    path("models/save", model_browser.model_save_toggle, name="model-save"),
    path("models/<path:model_id>/edit", model_browser.model_edit, name="model-edit"),
    path("chat/", chat.chat_page, name="chat"),
    path("chat/send", chat.chat_send, name="chat-send"),
    path("chat/<int:pk>/", chat.chat_page, name="chat-conversation"),
    path("chat/<int:pk>/rename", chat.conversation_rename_view, name="conversation-rename"),
    path("chat/<int:pk>/delete", chat.conversation_delete_view, name="conversation-delete"),
    path("playground/", playground.playground_page, name="playground"),
    path("playground/image", playground.image_generate_endpoint, name="playground-image"),
    path("playground/analyze", playground.image_analyze_endpoint, name="playground-analyze"),
    path("playground/speech", playground.speech_endpoint, name="playground-speech"),
    path("account/", account.account_page, name="account"),
    path("account/providers/", providers.providers_page, name="account-providers"),
    path(
        "account/providers/<slug:slug>/save", providers.provider_save, name="account-provider-save"
    ),
    path(
        "account/credentials/<int:pk>/sync",
        providers.credential_sync_view,
        name="account-credential-sync",
    ),
    path(
        "account/credentials/<int:pk>/status",
        providers.credential_status_view,
        name="account-credential-status",
    ),
    path(
        "account/credentials/<int:pk>/limits",
        providers.credential_limits_view,
        name="account-credential-limits",
    ),
    path(
        "account/credentials/<int:pk>/delete",
        providers.credential_delete_view,
        name="account-credential-delete",
    ),
    path("account/saved/", account.saved_models_page, name="account-saved"),
    path(
        "account/saved/<int:pk>/delete",
        account.saved_model_delete_view,
        name="account-saved-delete",
    ),
    path("account/conversations/", account.conversations_page, name="account-conversations"),
    path("account/usage/", account.usage_page, name="account-usage"),
    path("account/activity/", activity.activity_page, name="account-activity"),
]

# Mounted under /account/ by config/urls.py, in the "accounts" URL namespace.
accounts_urlpatterns = [
    path("signin/", auth.SignInView.as_view(), name="signin"),
    path("signup/", auth.signup, name="signup"),
    path("signout/", auth.SignOutView.as_view(), name="signout"),
    path("keys/", auth.api_keys, name="keys"),
    path("keys/<int:key_id>/revoke/", auth.api_key_revoke_view, name="key-revoke"),
]
