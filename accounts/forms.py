from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError

from .models import User

EMAIL_TAKEN_MESSAGE = "An account with this email address already exists."
INVALID_LOGIN_MESSAGE = "That email and password do not match an account. Check both and try again."


class UserCreateForm(auth_forms.BaseUserCreationForm):
    """Email and password twice; the email is compared and stored lower-cased."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(EMAIL_TAKEN_MESSAGE, code="unique")
        return email


class SignUpForm(UserCreateForm):
    def save(self, commit: bool = True) -> User:
        # Through the manager, so the personal workspace is created with the user.
        return User.objects.create_user(
            self.cleaned_data["email"], password=self.cleaned_data["password1"]
        )


class SignInForm(auth_forms.AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": INVALID_LOGIN_MESSAGE,
    }

    def clean_username(self) -> str:
        # Emails are stored lower-cased, so `Ada@Example.com` signs in as `ada@example.com`.
        return self.cleaned_data["username"].strip().lower()


class UserChangeForm(auth_forms.UserChangeForm):
    """The admin's change form for the email-based user."""

    class Meta:
        model = User
        fields = "__all__"


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="Something to recognise it by, such as the app that uses it.",
        widget=forms.TextInput(attrs={"placeholder": "Default key"}),
    )
