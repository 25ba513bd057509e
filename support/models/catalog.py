from django.conf import settings
from django.db import models
from django.utils import timezone

from .choices import TemplateChannel


class Category(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ResponseTemplate(models.Model):
    """A canned response. Placeholders come from a fixed list (see support.templating)."""

    name = models.CharField(max_length=120, unique=True)
    channel = models.CharField(max_length=10, choices=TemplateChannel.choices)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="templates"
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        from core.errors import DomainError

        from ..templating import validate_template_text

        for field in ("subject", "body"):
            try:
                validate_template_text(getattr(self, field))
            except DomainError as exc:
                raise ValidationError({field: exc.message}) from None
