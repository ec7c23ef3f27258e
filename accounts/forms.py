from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm

from .models import User


class SignUpForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def save(self, commit: bool = True) -> User:
        # Through the manager, so the personal workspace is created with the user.
        return User.objects.create_user(
            self.cleaned_data["email"], password=self.cleaned_data["password1"]
        )


class SignInForm(AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))
