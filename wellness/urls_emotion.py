"""Emotion snapshot pages; included from config/urls.py with ``path("", include("wellness.urls_emotion"))``."""

from django.urls import path

from wellness import views_emotion as views

urlpatterns = [
    path("wellness/emotion/", views.emotion_snapshots, name="emotion_snapshots"),
    path("wellness/emotion/consent/", views.emotion_consent, name="emotion_consent"),
    path("wellness/emotion/consent/withdraw/", views.emotion_consent_withdraw, name="emotion_consent_withdraw"),
    path("wellness/emotion/capture/", views.emotion_capture, name="emotion_capture"),
    path("wellness/emotion/history/", views.emotion_history, name="emotion_history"),
    path("wellness/emotion/erase/", views.emotion_erase, name="emotion_erase"),
    path("wellness/emotion/card/", views.emotion_card, name="emotion_card"),
    path("wellness/emotion/<uuid:snapshot_id>/", views.emotion_snapshot_status, name="emotion_snapshot_status"),
]
