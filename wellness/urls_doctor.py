"""Routes of the wellness charts page and the doctor's risk pages (include at the root: "")."""

from django.urls import path

from wellness import views_charts, views_doctor

urlpatterns = [
    path("wellness/charts/", views_charts.wellness_charts, name="wellness_charts"),
    path("doctor/risk/", views_doctor.doctor_risk, name="doctor_risk"),
    path("doctor/patients/<uuid:patient_id>/risk/flag/", views_doctor.risk_flag_raise, name="doctor_risk_flag_raise"),
    path("doctor/risk/flags/<uuid:flag_id>/confirm/", views_doctor.risk_flag_confirm, name="doctor_risk_flag_confirm"),
    path("doctor/risk/flags/<uuid:flag_id>/dismiss/", views_doctor.risk_flag_dismiss, name="doctor_risk_flag_dismiss"),
    path("doctor/risk/flags/<uuid:flag_id>/clear/", views_doctor.risk_flag_clear, name="doctor_risk_flag_clear"),
    path("doctor/risk/follow-ups/<uuid:task_id>/done/", views_doctor.follow_up_done, name="doctor_follow_up_done"),
]
