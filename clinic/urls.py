from django.urls import include, path

urlpatterns = [
    path("", include("clinic.views.patient")),
    path("", include("clinic.views.doctor")),
    path("", include("clinic.views.hospital")),
    path("", include("clinic.views.calendar")),
    path("", include("clinic.views.access")),
]
