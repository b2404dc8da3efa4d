from django.urls import path

from telehealth import views_chat

urlpatterns = [
    path("chats/", views_chat.chat_list, name="chat_list"),
    path("chats/<uuid:chat_id>/", views_chat.chat_detail, name="chat_detail"),
    path("chats/<uuid:chat_id>/archive/", views_chat.chat_archive, name="chat_archive"),
    path("chats/<uuid:chat_id>/urgent/", views_chat.chat_urgent, name="chat_urgent"),
    path("appointments/<uuid:appointment_id>/chat/", views_chat.chat_open_for_appointment,
         name="chat_open_for_appointment"),
]
