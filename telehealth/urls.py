from django.urls import path

from telehealth import views

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read-all/", views.notifications_mark_all_read, name="notifications_mark_all_read"),
    path("notifications/<uuid:notification_id>/open/", views.notification_open, name="notification_open"),
]
