from django.contrib import admin

from telehealth.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["recipient__email", "title"]
    raw_id_fields = ["recipient"]
    readonly_fields = ["source_key", "email_requested", "emailed_at"]
    exclude = ["email_text", "ics"]
