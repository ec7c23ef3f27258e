from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signup/", views.signup, name="signup"),
    path("signout/", views.SignOutView.as_view(), name="signout"),
    path("keys/", views.api_keys, name="keys"),
    path("keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="key-revoke"),
]
