from django.urls import path

from telehealth import views_call_requests, views_chat

urlpatterns = [
    path("chats/", views_chat.chat_list, name="chat_list"),
    path("chats/start/", views_chat.chat_start, name="chat_start"),
    path("chats/<uuid:chat_id>/", views_chat.chat_detail, name="chat_detail"),
    path("chats/<uuid:chat_id>/archive/", views_chat.chat_archive, name="chat_archive"),
    path("chats/<uuid:chat_id>/urgent/", views_chat.chat_urgent, name="chat_urgent"),
    path("chats/<uuid:chat_id>/urgent/resolve/", views_chat.chat_urgent_resolve, name="chat_urgent_resolve"),
    path("appointments/<uuid:appointment_id>/chat/", views_chat.chat_open_for_appointment,
         name="chat_open_for_appointment"),
    # Calls asked for from a chat (telehealth/call_requests.py).
    path("chats/<uuid:chat_id>/call-request/", views_call_requests.call_request_panel, name="call_request_panel"),
    path("chats/<uuid:chat_id>/call-request/ask/", views_call_requests.call_request_create,
         name="call_request_create"),
    path("call-requests/<uuid:request_id>/accept/", views_call_requests.call_request_accept,
         name="call_request_accept"),
    path("call-requests/<uuid:request_id>/decline/", views_call_requests.call_request_decline,
         name="call_request_decline"),
    path("call-requests/<uuid:request_id>/cancel/", views_call_requests.call_request_cancel,
         name="call_request_cancel"),
]
