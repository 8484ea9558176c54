"""Models of a site with its own user model and a Team model serving as SCIM groups."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models

from django_scim.models import ScimCompanion


class EmailUserManager(BaseUserManager["EmailUser"]):
    def create_user(self, email: str, password: str | None = None, **extra: object) -> EmailUser:
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class EmailUser(AbstractBaseUser):
    """A custom AUTH_USER_MODEL keyed by e-mail, with no first/last name fields."""

    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    department = models.ForeignKey("Department", null=True, blank=True, on_delete=models.SET_NULL)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    objects = EmailUserManager()


class Department(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A group-like model: SCIM Groups map onto it with settings only."""

    title = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    def __str__(self) -> str:
        return self.title


class TeamScim(ScimCompanion):
    resource = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="scim")


class Organization(models.Model):
    """A tenant (SCIM["TENANT_MODEL"] = "testapp.Organization" in tests/tenancy)."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class OrgAccount(models.Model):
    """A site model carrying its own organisation key, with user names unique per organisation.

    Served in tests/tenancy by an adapter overriding ``scope_queryset`` and ``new_instance``.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="accounts")
    username = models.CharField(max_length=150)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "username"], name="orgaccount_username_per_org")
        ]

    def __str__(self) -> str:
        return self.username


class OrgAccountScim(ScimCompanion):
    resource = models.OneToOneField(OrgAccount, on_delete=models.CASCADE, related_name="scim")
