from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup_choice, name="signup"),
    path("signup/done/", views.signup_done, name="signup_done"),
    path("signup/patient/", views.patient_signup, name="patient_signup"),
    path("signup/doctor/", views.doctor_apply, name="doctor_apply"),
    path("signup/hospital/", views.hospital_signup, name="hospital_signup"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("account/profile/", views.profile, name="profile"),
    path("account/photo/<uuid:user_id>/", views.user_photo, name="user_photo"),
    path("account/language/", views.set_language, name="set_language"),
    path("account/application/", views.application_status, name="application_status"),
    path("account/application/reapply/", views.doctor_reapply, name="doctor_reapply"),
    path("account/application/hospital/", views.hospital_application_status, name="hospital_application_status"),
    path("account/2fa/", views.two_factor_manage, name="two_factor_manage"),
    path("account/2fa/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("account/2fa/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("account/2fa/backup-codes/", views.two_factor_backup_codes, name="two_factor_backup_codes"),
    path("account/2fa/remove/", views.two_factor_remove, name="two_factor_remove"),
    path("account/identity/undo/<str:token>/", views.identity_change_undo, name="identity_change_undo"),
    path("hospital/staff/", views.hospital_staff, name="hospital_staff"),
    path("invite/<str:token>/", views.staff_invitation_accept, name="staff_invitation_accept"),
]
