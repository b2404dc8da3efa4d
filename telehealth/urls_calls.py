from django.urls import path

from telehealth import views_calls

urlpatterns = [
    path("calls/<str:room_id>/", views_calls.call_room, name="call_room"),
]
